// Certificates for one local cluster, made with the openssl CLI (present on every Debian image, and
// what the Kubernetes "hard way" guides use). ECDSA P-256 keys: each takes milliseconds to make.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  /** kube-apiserver serving certificate */
  apiserverCert: string;
  apiserverKey: string;
  /** cluster-admin client (O=system:masters); also used by the node agent */
  adminCert: string;
  adminKey: string;
  controllerManagerCert: string;
  controllerManagerKey: string;
  schedulerCert: string;
  schedulerKey: string;
  /** the apiserver's client certificate towards kubelets (the node agent's log endpoint) */
  kubeletClientCert: string;
  kubeletClientKey: string;
  /** the node agent's serving certificate for its kubelet endpoint */
  kubeletServingCert: string;
  kubeletServingKey: string;
  /** service-account token signing key pair */
  serviceAccountKey: string;
  serviceAccountPub: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr || (err as Error).message}`);
  }
}

function newKey(dir: string, name: string): string {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
  return join(dir, `${name}.key`);
}

function signLeaf(dir: string, name: string, subject: string, extensions: string[]): void {
  const key = newKey(dir, name);
  writeFileSync(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  openssl(['req', '-new', '-key', key, '-subj', subject, '-out', `${name}.csr`], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '365',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

const clientExt = ['keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'];
const serverExt = (sans: string) => [
  'keyUsage=critical,digitalSignature',
  'extendedKeyUsage=serverAuth',
  `subjectAltName=${sans}`,
];

export function createPki(dir: string, serviceClusterIp = '10.96.0.1'): Pki {
  const caKey = newKey(dir, 'ca');
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      caKey,
      '-subj',
      '/CN=kiln-local-ca',
      '-days',
      '3650',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  signLeaf(
    dir,
    'apiserver',
    '/CN=kube-apiserver',
    serverExt(
      `IP:127.0.0.1,IP:${serviceClusterIp},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local`,
    ),
  );
  signLeaf(dir, 'admin', '/O=system:masters/CN=kiln-admin', clientExt);
  signLeaf(dir, 'controller-manager', '/CN=system:kube-controller-manager', clientExt);
  signLeaf(dir, 'scheduler', '/CN=system:kube-scheduler', clientExt);
  signLeaf(dir, 'apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', clientExt);
  signLeaf(dir, 'kubelet', '/CN=kiln-node-agent', serverExt('IP:127.0.0.1,DNS:localhost'));
  newKey(dir, 'sa');
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return pkiPaths(dir);
}

/**
 * The same certificates for every local cluster on this machine, made once and kept under
 * ${KILN_CACHE:-~/.cache/kiln}/local-cluster/pki-v1: every cluster listens on 127.0.0.1, so one set fits
 * all, and each start skips ~30 openssl runs. Made in a temp dir and renamed into place, so concurrent
 * first starts cannot see a half-written set. Remade when the leaf certificates near their expiry.
 */
export function cachedPki(cacheRoot = process.env.KILN_CACHE ?? join(homedir(), '.cache/kiln')): Pki {
  const parent = join(cacheRoot, 'local-cluster');
  const dir = join(parent, 'pki-v1');
  const fresh = (p: Pki) => {
    try {
      execFileSync('openssl', ['x509', '-checkend', String(30 * 86400), '-noout', '-in', p.apiserverCert], {
        stdio: 'ignore',
      });
      return [p.serviceAccountPub, p.kubeletServingKey, p.caKey].every((f) => existsSync(f));
    } catch {
      return false;
    }
  };
  const existing = pkiPaths(dir);
  if (fresh(existing)) return existing;
  mkdirSync(parent, { recursive: true });
  const tmp = mkdtempSync(join(parent, 'pki-tmp-'));
  createPki(tmp);
  rmSync(dir, { recursive: true, force: true });
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process won the race: use its set
  }
  return pkiPaths(dir);
}

function pkiPaths(dir: string): Pki {
  const f = (name: string) => join(dir, name);
  return {
    dir,
    caCert: f('ca.crt'),
    caKey: f('ca.key'),
    apiserverCert: f('apiserver.crt'),
    apiserverKey: f('apiserver.key'),
    adminCert: f('admin.crt'),
    adminKey: f('admin.key'),
    controllerManagerCert: f('controller-manager.crt'),
    controllerManagerKey: f('controller-manager.key'),
    schedulerCert: f('scheduler.crt'),
    schedulerKey: f('scheduler.key'),
    kubeletClientCert: f('apiserver-kubelet-client.crt'),
    kubeletClientKey: f('apiserver-kubelet-client.key'),
    kubeletServingCert: f('kubelet.crt'),
    kubeletServingKey: f('kubelet.key'),
    serviceAccountKey: f('sa.key'),
    serviceAccountPub: f('sa.pub'),
  };
}

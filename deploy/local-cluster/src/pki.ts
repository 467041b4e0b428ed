// Certificates for one local cluster, made with the openssl CLI (present on every Debian image, and
// what the Kubernetes "hard way" guides use). ECDSA P-256 keys: each takes milliseconds to make.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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

function signLeaf(dir: string, name: string, subject: string, extensions: string[]): [string, string] {
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
  return [join(dir, `${name}.crt`), key];
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
  const [apiserverCert, apiserverKey] = signLeaf(
    dir,
    'apiserver',
    '/CN=kube-apiserver',
    serverExt(
      `IP:127.0.0.1,IP:${serviceClusterIp},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local`,
    ),
  );
  const [adminCert, adminKey] = signLeaf(dir, 'admin', '/O=system:masters/CN=kiln-admin', clientExt);
  const [controllerManagerCert, controllerManagerKey] = signLeaf(
    dir,
    'controller-manager',
    '/CN=system:kube-controller-manager',
    clientExt,
  );
  const [schedulerCert, schedulerKey] = signLeaf(dir, 'scheduler', '/CN=system:kube-scheduler', clientExt);
  const [kubeletClientCert, kubeletClientKey] = signLeaf(
    dir,
    'apiserver-kubelet-client',
    '/O=system:masters/CN=kube-apiserver-kubelet-client',
    clientExt,
  );
  const [kubeletServingCert, kubeletServingKey] = signLeaf(
    dir,
    'kubelet',
    '/CN=kiln-node-agent',
    serverExt('IP:127.0.0.1,DNS:localhost'),
  );
  const serviceAccountKey = newKey(dir, 'sa');
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey,
    apiserverCert,
    apiserverKey,
    adminCert,
    adminKey,
    controllerManagerCert,
    controllerManagerKey,
    schedulerCert,
    schedulerKey,
    kubeletClientCert,
    kubeletClientKey,
    kubeletServingCert,
    kubeletServingKey,
    serviceAccountKey,
    serviceAccountPub: join(dir, 'sa.pub'),
  };
}

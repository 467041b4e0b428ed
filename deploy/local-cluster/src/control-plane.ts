// etcd + kube-apiserver + kube-controller-manager + kube-scheduler on loopback, on free ports, with
// all state in one directory. Readiness is what the components themselves report (/readyz, /healthz).
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { writeKubeconfig } from './kubeconfig.js';
import type { Pki } from './pki.js';
import { freePort } from './ports.js';
import { exited, spawnManaged, terminate } from './process.js';

export const serviceClusterIpRange = '10.96.0.0/16';

export interface ControlPlane {
  server: string;
  /** cluster-admin kubeconfig */
  kubeconfigPath: string;
  processes: Record<string, ChildProcess>;
  logDir: string;
  /** ms from start until etcd, the apiserver, then controller-manager + scheduler were ready */
  timings: Record<string, number>;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  dir: string;
  binDir: string;
  pki: Pki;
  /** agent's kubelet endpoint is reached with this CA (the agent's serving cert is signed by it) */
  timeoutMs?: number;
  /** extra kube-apiserver flags, e.g. ['--feature-gates=...'] */
  apiserverArgs?: string[];
}

type HttpsOpts = { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean };

function httpsGet(url: string, tls: HttpsOpts): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, method: 'GET', timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function waitHealthy(
  name: string,
  url: string,
  tls: HttpsOpts,
  child: ChildProcess,
  logFile: string,
  deadline: number,
): Promise<void> {
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail}`);
    }
    try {
      const res = await httpsGet(url, tls);
      if (res.status === 200) return;
      last = `${res.status} ${res.body.slice(0, 500)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} not ready at ${url} in time; last answer: ${last} (log: ${logFile})`);
}

async function waitEtcd(url: string, child: ChildProcess, logFile: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      throw new Error(`etcd exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail}`);
    }
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`etcd not healthy at ${url} in time (log: ${logFile})`);
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const { dir, binDir, pki } = opts;
  const t0 = Date.now();
  const deadline = t0 + (opts.timeoutMs ?? 60_000);
  const timings: Record<string, number> = {};
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const [etcdPort, etcdPeerPort, apiPort, kcmPort, schedPort] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  const server = `https://127.0.0.1:${apiPort}`;
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
  const processes: Record<string, ChildProcess> = {};
  const logs: Record<string, string> = {};
  const start = (name: string, args: string[]) => {
    logs[name] = join(logDir, `${name}.log`);
    processes[name] = spawnManaged({ command: join(binDir, name), args, env, cwd: dir, logFile: logs[name] });
    return processes[name];
  };

  const stop = async () => {
    // Reverse dependency order: clients first, etcd last.
    for (const name of ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd']) {
      const child = processes[name];
      if (child) await terminate(child, 5000);
    }
  };

  try {
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = start('etcd', [
      '--name=kiln',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=kiln=${peerUrl}`,
      // Throwaway data: skipping fsync makes every write (and so every test) much faster.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);

    const kcmKubeconfig = writeKubeconfig(join(dir, 'controller-manager.kubeconfig'), server, pki.caCert, {
      cert: pki.controllerManagerCert,
      key: pki.controllerManagerKey,
    });
    const schedKubeconfig = writeKubeconfig(join(dir, 'scheduler.kubeconfig'), server, pki.caCert, {
      cert: pki.schedulerCert,
      key: pki.schedulerKey,
    });
    const kubeconfigPath = writeKubeconfig(join(dir, 'kubeconfig'), server, pki.caCert, {
      cert: pki.adminCert,
      key: pki.adminKey,
    });

    await waitEtcd(etcdUrl, etcd, logs.etcd!, deadline);
    timings.etcdMs = Date.now() - t0;

    const apiserver = start('kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // The endpoint reconciler refuses loopback addresses; pods reach the apiserver through
      // KUBERNETES_SERVICE_HOST=127.0.0.1 instead of the kubernetes Service.
      '--endpoint-reconciler-type=none',
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.apiserverCert}`,
      `--tls-private-key-file=${pki.apiserverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      `--kubelet-client-certificate=${pki.kubeletClientCert}`,
      `--kubelet-client-key=${pki.kubeletClientKey}`,
      `--kubelet-certificate-authority=${pki.caCert}`,
      '--kubelet-preferred-address-types=InternalIP',
      '--profiling=false',
      '--v=1',
      ...(opts.apiserverArgs ?? []),
    ]);
    const admin: HttpsOpts = {
      ca: readFileSync(pki.caCert),
      cert: readFileSync(pki.adminCert),
      key: readFileSync(pki.adminKey),
    };
    // The controller-manager and scheduler serve self-signed certificates.
    const selfSigned: HttpsOpts = { rejectUnauthorized: false };
    await waitHealthy(
      'kube-apiserver',
      `${server}/readyz`,
      admin,
      apiserver,
      logs['kube-apiserver']!,
      deadline,
    );
    timings.apiserverMs = Date.now() - t0;
    // Only now: before RBAC's bootstrap roles exist, both exit on their first forbidden request.
    const common = ['--bind-address=127.0.0.1', '--leader-elect=false', '--profiling=false', '--v=1'];
    const kcm = start('kube-controller-manager', [
      `--kubeconfig=${kcmKubeconfig}`,
      `--authentication-kubeconfig=${kcmKubeconfig}`,
      `--authorization-kubeconfig=${kcmKubeconfig}`,
      `--secure-port=${kcmPort}`,
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      '--use-service-account-credentials=true',
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      ...common,
    ]);
    const scheduler = start('kube-scheduler', [
      `--kubeconfig=${schedKubeconfig}`,
      `--authentication-kubeconfig=${schedKubeconfig}`,
      `--authorization-kubeconfig=${schedKubeconfig}`,
      `--secure-port=${schedPort}`,
      ...common,
    ]);

    await Promise.all([
      waitHealthy(
        'kube-controller-manager',
        `https://127.0.0.1:${kcmPort}/healthz`,
        selfSigned,
        kcm,
        logs['kube-controller-manager']!,
        deadline,
      ),
      waitHealthy(
        'kube-scheduler',
        `https://127.0.0.1:${schedPort}/readyz`,
        selfSigned,
        scheduler,
        logs['kube-scheduler']!,
        deadline,
      ),
    ]);
    timings.controllersMs = Date.now() - t0;
    return { server, kubeconfigPath, processes, logDir, timings, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export { exited };

// The real Cluster Autoscaler beside the control plane: externalgrpc cloud (the local cloud), the
// ProvisioningRequest controller on, intervals short enough for tests, everything on loopback.

import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { exited, spawnManaged, terminate } from './process.js';

const run = promisify(execFile);

export const provisioningRequestCrd = 'provisioningrequests.autoscaling.x-k8s.io';

/** Flags tuned for a local cluster: seconds instead of CA's minutes, so a test sees scale-up and down. */
export const autoscalerDefaults = [
  '--scan-interval=1s',
  '--scale-down-unneeded-time=3s',
  '--scale-down-delay-after-add=0s',
  '--scale-down-delay-after-delete=0s',
  '--scale-down-delay-after-failure=2s',
  '--unremovable-node-recheck-timeout=5s',
  '--node-delete-delay-after-taint=0s',
  '--max-node-provision-time=2m',
  '--initial-node-group-backoff-duration=2s',
  '--max-node-group-backoff-duration=10s',
  '--provisioning-request-initial-backoff-time=2s',
  '--provisioning-request-max-backoff-time=10s',
  '--new-pod-scale-up-delay=0s',
  '--max-graceful-termination-sec=10',
  '--skip-nodes-with-local-storage=false',
  '--expander=least-waste',
];

export interface AutoscalerOptions {
  binary: string;
  kubeconfigPath: string;
  /** host:port of the externalgrpc cloud */
  cloudAddress: string;
  /** where cloud-config.yaml and cluster-autoscaler.log go */
  dir: string;
  /** more flags, after (and so overriding) the defaults */
  args?: string[];
  timeoutMs?: number;
}

export interface Autoscaler {
  readonly pid: number;
  /** 127.0.0.1:<port>: /metrics and /health-check */
  readonly metricsAddress: string;
  readonly logFile: string;
  /** SIGKILL, as a crash would (tests start it again with start()) */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Applies the ProvisioningRequest CRD (from the CA's apis module) and waits until it is served. */
export async function installProvisioningRequestCrd(
  kubectl: string,
  kubeconfigPath: string,
  crdFile: string,
): Promise<void> {
  const k = (args: string[]) =>
    run(kubectl, [`--kubeconfig=${kubeconfigPath}`, ...args], { encoding: 'utf8' });
  await k(['apply', '--server-side', '--force-conflicts', '-f', crdFile]);
  await k(['wait', '--for=condition=Established', '--timeout=60s', `crd/${provisioningRequestCrd}`]);
}

export async function startAutoscaler(opts: AutoscalerOptions): Promise<Autoscaler> {
  const cloudConfig = join(opts.dir, 'cloud-config.yaml');
  writeFileSync(cloudConfig, `address: "${opts.cloudAddress}"\ngrpc_timeout: 10s\n`);
  const logFile = join(opts.dir, 'cluster-autoscaler.log');
  const metricsAddress = `127.0.0.1:${await freePort()}`;
  const child: ChildProcess = spawnManaged({
    command: opts.binary,
    args: [
      '--cloud-provider=externalgrpc',
      `--cloud-config=${cloudConfig}`,
      `--kubeconfig=${opts.kubeconfigPath}`,
      '--enable-provisioning-requests=true',
      // Its default is :8085 on every interface.
      `--address=${metricsAddress}`,
      '--leader-elect=false',
      // CA's default protobuf encoding cannot write ProvisioningRequests (a CRD has no protobuf form):
      // "does not implement the protobuf marshalling interface", and Accepted is never set.
      '--kube-api-content-type=application/json',
      '--v=2',
      ...autoscalerDefaults,
      ...(opts.args ?? []),
    ],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: opts.dir },
    cwd: opts.dir,
    logFile,
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let last = '';
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
      throw new Error(
        `cluster-autoscaler exited (${child.exitCode ?? child.signalCode}) before it was healthy:\n${tail}`,
      );
    }
    try {
      const res = await fetch(`http://${metricsAddress}/health-check`);
      if (res.ok) break;
      last = `${res.status} ${(await res.text()).slice(0, 300)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      await terminate(child, 1000);
      throw new Error(
        `cluster-autoscaler not healthy at ${metricsAddress} in time: ${last} (log: ${logFile})`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    pid: child.pid ?? 0,
    metricsAddress,
    logFile,
    async kill() {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
      await exited(child);
    },
    stop: () => terminate(child, 5000),
  };
}

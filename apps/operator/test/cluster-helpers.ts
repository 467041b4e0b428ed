// Shared by the operator's tests against the local control plane: a cluster with the CRD installed, an
// operator (in this process, or as a child process that tests may kill), TrainingJob builders and waits.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';
import type { ClusterOptions, NodeSpec } from '@kiln/local-cluster';
import { clusterForTests, type TestCluster, waitFor } from '@kiln/local-cluster/test-helper';
import { API_GROUP, API_VERSION, TRAININGJOB_PLURAL, type TrainingJob } from '@kiln/spec';
import { CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { defaultOperatorOptions, Operator, type OperatorOptions } from '../src/controller.js';

export { waitFor };

const root = new URL('../../../', import.meta.url).pathname;
export const WORKER = new URL('./fixtures/gang-worker.mjs', import.meta.url).pathname;
export const CLAIM = 'ckpt';

/** Fast timings so each behaviour shows within seconds. */
export const fastOptions: Partial<OperatorOptions> = {
  restartBackoffMs: 300,
  maxRestartBackoffMs: 2_000,
  progressIntervalMs: 300,
  elasticCooldownMs: 1_000,
  podGracePeriodSeconds: 1,
  healthPort: 0,
  healthHost: '127.0.0.1',
  leaseNamespace: 'kube-system',
  leaseDurationSeconds: 3,
  leaseRetryPeriodMs: 300,
};

export interface OperatorTestCluster {
  k: TestCluster;
  volumesRoot: string;
  custom(): CustomObjectsApi;
  /** A fresh namespace with the checkpoint claim bound. */
  namespace(prefix: string): Promise<string>;
  /** Starts an operator in this test process (stopped after the file). */
  startOperator(overrides?: Partial<OperatorOptions>): Promise<Operator>;
  /** Starts the operator as a child process, as it runs in production; `leading` resolves when it leads. */
  spawnOperator(args?: string[]): ChildProcess & { leading: Promise<void> };
  checkpointDir(ns: string, job: string): string;
}

/** The image name whose root is this repository (for workers that run Kiln code from source). */
export const REPO_IMAGE = 'kiln-repo';

/** `extra`: more cluster options, e.g. `autoscaling` (node pools and the Cluster Autoscaler). */
export function operatorCluster(
  nodes: NodeSpec[],
  extra: Omit<ClusterOptions, 'nodes'> = {},
): OperatorTestCluster {
  const volumesRoot = mkdtempSync(join(tmpdir(), 'kiln-op-volumes-'));
  const k = clusterForTests({ nodes, volumesRoot, images: { [REPO_IMAGE]: { root } }, ...extra });
  const operators: Operator[] = [];
  const children: ChildProcess[] = [];
  // Node 20 runs a file's top-level before() hooks concurrently, so setup waits for the cluster itself.
  let setup: Promise<void> | undefined;
  const ready = () =>
    (setup ??= (async () => {
      await k.ready();
      await k.installTrainingJobCrd();
    })());
  before(ready, { timeout: 240_000 });
  after(
    async () => {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await Promise.all(operators.map((o) => o.stop()));
    },
    { timeout: 30_000 },
  );
  return {
    k,
    volumesRoot,
    custom: () => k.kc.makeApiClient(CustomObjectsApi),
    async namespace(prefix) {
      await ready();
      const ns = await k.namespace(prefix);
      await k.core.createNamespacedPersistentVolumeClaim({
        namespace: ns,
        body: {
          metadata: { name: CLAIM },
          spec: {
            accessModes: ['ReadWriteMany'],
            storageClassName: 'kiln-local',
            resources: { requests: { storage: '1Gi' } },
          },
        },
      });
      await waitFor(`claim ${ns}/${CLAIM} bound`, async () => {
        const pvc = await k.core.readNamespacedPersistentVolumeClaim({ name: CLAIM, namespace: ns });
        return pvc.status?.phase === 'Bound';
      });
      return ns;
    },
    async startOperator(overrides = {}) {
      await ready();
      const op = new Operator({
        ...defaultOperatorOptions,
        ...fastOptions,
        kubeconfig: k.kc,
        logger: pino({ level: process.env.KILN_TEST_LOG ?? 'silent' }),
        onLeadershipLost: () => {},
        ...overrides,
      });
      operators.push(op);
      await op.start();
      return op;
    },
    spawnOperator(args = []) {
      const flags = [
        '--health-port=0',
        '--health-host=127.0.0.1',
        '--lease-namespace=kube-system',
        '--lease-duration-seconds=1',
        '--lease-retry-period-seconds=0.1',
        '--restart-backoff-seconds=0.3',
        '--progress-interval-seconds=0.3',
        '--pod-grace-period-seconds=1',
        ...args,
      ];
      // The operator's own process (not the bin/ wrapper), so SIGKILL hits the operator itself.
      const loader = ['--conditions=kiln-src', '--import', '@swc-node/register/esm-register'];
      const child = spawn(process.execPath, [...loader, join(root, 'apps/operator/src/main.ts'), ...flags], {
        cwd: root,
        env: {
          ...process.env,
          KUBECONFIG: k.kubeconfigPath,
          KILN_LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      const leading = new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          if (process.env.KILN_TEST_LOG) console.log(line);
          if (line.includes('"became leader"')) resolve();
        });
        child.once('exit', () => reject(new Error('the operator exited before it became leader')));
      });
      leading.catch(() => {});
      return Object.assign(child, { leading });
    },
    checkpointDir(ns, job) {
      return join(volumesRoot, ns, CLAIM, ns, job);
    },
  };
}

export interface JobOptions {
  workers?: number;
  gpus?: number;
  env?: Record<string, string>;
  runPolicy?: Record<string, unknown>;
  scheduling?: Record<string, unknown>;
  elastic?: { minWorkers: number; maxWorkers: number };
  command?: string[];
  args?: string[];
  image?: string;
}

export function trainingJob(ns: string, name: string, o: JobOptions = {}): TrainingJob {
  return {
    apiVersion: 'kiln.dev/v1alpha1',
    kind: 'TrainingJob',
    metadata: { name, namespace: ns },
    spec: {
      image: o.image ?? 'kiln-test',
      command: o.command ?? ['node', WORKER],
      args: o.args ?? [],
      env: Object.entries(o.env ?? {}).map(([name, value]) => ({ name, value })),
      workers: o.workers ?? 2,
      resources: { limits: { cpu: '100m', memory: '64Mi', ...(o.gpus ? { 'nvidia.com/gpu': o.gpus } : {}) } },
      checkpoint: { volumeClaim: CLAIM },
      runPolicy: { retryOnExitCodes: [137, 143], ...o.runPolicy },
      scheduling: { gangTimeoutSeconds: 30, ...o.scheduling },
      ...(o.elastic ? { elastic: o.elastic } : {}),
    },
  } as unknown as TrainingJob;
}

export async function createJob(c: OperatorTestCluster, job: TrainingJob): Promise<void> {
  await c.custom().createNamespacedCustomObject({
    group: API_GROUP,
    version: API_VERSION,
    plural: TRAININGJOB_PLURAL,
    namespace: job.metadata.namespace!,
    body: job,
  });
}

export async function getJob(c: OperatorTestCluster, ns: string, name: string): Promise<TrainingJob> {
  return c.custom().getNamespacedCustomObject({
    group: API_GROUP,
    version: API_VERSION,
    plural: TRAININGJOB_PLURAL,
    namespace: ns,
    name,
  });
}

export async function waitPhase(
  c: OperatorTestCluster,
  ns: string,
  name: string,
  phase: string | ((job: TrainingJob) => boolean),
  timeoutMs = 30_000,
): Promise<TrainingJob> {
  const ok = typeof phase === 'string' ? (j: TrainingJob) => j.status?.phase === phase : phase;
  let last: TrainingJob | undefined;
  try {
    return await waitFor(
      `${ns}/${name} ${typeof phase === 'string' ? `phase ${phase}` : 'condition'}`,
      async () => {
        last = await getJob(c, ns, name);
        return ok(last) ? last : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}`);
  }
}

export async function jobPods(c: OperatorTestCluster, ns: string, name: string): Promise<V1Pod[]> {
  const list = await c.k.core.listNamespacedPod({
    namespace: ns,
    labelSelector: `kiln.dev/job-name=${name}`,
  });
  return list.items.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
}

export const pidOf = (pod: V1Pod) =>
  Number(pod.status?.containerStatuses?.[0]?.containerID?.replace('kiln://', ''));

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export async function events(c: OperatorTestCluster, ns: string, name: string): Promise<string[]> {
  const list = await c.k.core.listNamespacedEvent({
    namespace: ns,
    fieldSelector: `involvedObject.name=${name}`,
  });
  return list.items.map((e) => e.reason ?? '');
}

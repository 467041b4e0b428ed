// For test files: `const k = clusterForTests()` at the top level registers before/after hooks that give
// the file its own cluster (started once, stopped — every process gone — after the last test), or, when
// $KILN_TEST_KUBECONFIG points at a running one (`kiln-cluster up`) and the file needs no nodes of its
// own, that shared cluster. `await k.namespace('gc')` makes a fresh namespace, deleted after the file.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { NodeAgent } from './agent/node-agent.js';
import { ensureBinaries } from './binaries.js';
import { type Cluster, type ClusterOptions, startCluster } from './cluster.js';

const run = promisify(execFile);

export interface TestCluster {
  readonly kubeconfigPath: string;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  /** the node agent; undefined on a shared cluster (its agent lives in another process) */
  readonly agent: NodeAgent | undefined;
  readonly cluster: Cluster | undefined;
  /** a new namespace `<prefix>-<random>` whose default ServiceAccount exists; deleted after the file */
  namespace(prefix: string): Promise<string>;
  /** runs the pinned kubectl against this cluster; never throws, returns the exit code */
  kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** applies this checkout's TrainingJob CRD (crds/trainingjob.yaml) and waits until it is Established */
  installTrainingJobCrd(): Promise<void>;
  /**
   * Resolves once the cluster is up (rejects if it failed to start): for a file's own before() hooks,
   * which Node 20 runs concurrently with this helper's.
   */
  ready(): Promise<void>;
}

export interface TestClusterOptions extends ClusterOptions {
  /** use $KILN_TEST_KUBECONFIG when set (default true unless `nodes` is given) */
  allowShared?: boolean;
}

/** Polls `fn` until it returns something other than undefined/false, or fails with the last error. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
  );
}

export function clusterForTests(opts: TestClusterOptions = {}): TestCluster {
  const shared = process.env.KILN_TEST_KUBECONFIG && (opts.allowShared ?? opts.nodes === undefined);
  const namespaces: string[] = [];
  let cluster: Cluster | undefined;
  let kubeconfigPath = '';
  let kc: KubeConfig | undefined;
  let core: CoreV1Api | undefined;
  let kubectlBin = '';
  let started!: { resolve: () => void; reject: (e: unknown) => void };
  const up = new Promise<void>((resolve, reject) => {
    started = { resolve, reject };
  });
  up.catch(() => {}); // the before() hook reports the failure; ready() callers see it too

  before(
    async () => {
      try {
        await start();
        started.resolve();
      } catch (e) {
        started.reject(e);
        throw e;
      }
    },
    { timeout: 180_000 },
  );

  async function start() {
    kubectlBin = `${ensureBinaries(opts.binDir)}/kubectl`;
    if (shared) {
      kubeconfigPath = process.env.KILN_TEST_KUBECONFIG!;
    } else {
      cluster = await startCluster(opts);
      kubeconfigPath = cluster.kubeconfigPath;
    }
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    core = kc.makeApiClient(CoreV1Api);
  }

  after(
    async () => {
      if (cluster) {
        await cluster.stop();
      } else if (core) {
        await Promise.all(namespaces.map((name) => core!.deleteNamespace({ name }).catch(() => {})));
      }
    },
    { timeout: 60_000 },
  );

  const need = <T>(value: T | undefined): T => {
    if (value === undefined)
      throw new Error('the test cluster is not started yet: use it inside tests or before() hooks');
    return value;
  };

  return {
    get kubeconfigPath() {
      return need(kubeconfigPath || undefined);
    },
    get kc() {
      return need(kc);
    },
    get core() {
      return need(core);
    },
    get agent() {
      return cluster?.agent;
    },
    get cluster() {
      return cluster;
    },
    ready: () => up,
    async namespace(prefix) {
      const name = `${prefix}-${randomBytes(3).toString('hex')}`;
      await need(core).createNamespace({ body: { metadata: { name } } });
      namespaces.push(name);
      // Pods are refused until the controller-manager has made the namespace's default ServiceAccount.
      await waitFor(`ServiceAccount ${name}/default`, () =>
        need(core)
          .readNamespacedServiceAccount({ name: 'default', namespace: name })
          .then(() => true),
      );
      return name;
    },
    async installTrainingJobCrd() {
      const crd = new URL('../../../crds/trainingjob.yaml', import.meta.url).pathname;
      const applied = await this.kubectl(['apply', '-f', crd]);
      if (applied.code !== 0) throw new Error(`applying the TrainingJob CRD failed: ${applied.stderr}`);
      const w = await this.kubectl([
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        'crd/trainingjobs.kiln.dev',
      ]);
      if (w.code !== 0) throw new Error(`the TrainingJob CRD is not Established: ${w.stderr}`);
    },
    async kubectl(args, input) {
      const child = run(kubectlBin, [`--kubeconfig=${need(kubeconfigPath || undefined)}`, ...args], {
        encoding: 'utf8',
      });
      if (input !== undefined) {
        child.child.stdin?.end(input);
      }
      try {
        const { stdout, stderr } = await child;
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return {
          code: typeof e.code === 'number' ? e.code : 1,
          stdout: e.stdout ?? '',
          stderr: e.stderr ?? '',
        };
      }
    },
  };
}

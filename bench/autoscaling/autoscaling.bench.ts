// Autoscaling benchmark on the local control plane with the real Cluster Autoscaler and the node agent's
// local cloud. Prints figures and ratios against a baseline measured in the same run; never asserts.
//   1. A 4-worker × 1-GPU TrainingJob that needs 2 new 2-GPU nodes: apply → all workers Running, split
//      into ProvisioningRequest created (operator), scale-up decided (CA's IncreaseSize reaching the
//      cloud), nodes Ready (registered after the pool's boot delay), pods Running;
//      beside the same job on 2 nodes that already exist (baseline).
//   2. Scale-down: job deleted → the pool back at zero nodes.
//   3. Idle: CPU and memory of the Cluster Autoscaler and of this process (node agent + local cloud).
// Run: node --conditions=kiln-src --import @swc-node/register/esm-register bench/autoscaling/autoscaling.bench.ts
//   BENCH_REPEATS (3), BENCH_BOOT_MS (2000: the pool's boot delay, counted in "nodes Ready").
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { startBenchCluster } from '../support/cluster.js';

const root = new URL('../../', import.meta.url).pathname;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const BOOT_MS = Number(process.env.BENCH_BOOT_MS ?? 2000);
const IDLE_S = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]) => `${median(xs).toFixed(0)} ms   [${xs.map((x) => x.toFixed(0)).join(', ')}]`;
async function until(fn: () => Promise<boolean>, pollMs = 20, timeoutMs = 180_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn().catch(() => false)) return;
    await sleep(pollMs);
  }
  throw new Error('timed out');
}

const load0 = loadavg()[0]!;
const { cluster, core, custom } = await startBenchCluster({
  nodes: [
    { name: 'static-cpu', cpu: '8', memory: '32Gi' },
    { name: 'static-gpu-1', cpu: '8', memory: '32Gi', gpus: 2, labels: { 'bench/nodes': 'static' } },
    { name: 'static-gpu-2', cpu: '8', memory: '32Gi', gpus: 2, labels: { 'bench/nodes': 'static' } },
  ],
  autoscaling: {
    pools: [
      {
        id: 'gpu',
        min: 0,
        max: 2,
        bootDelayMs: BOOT_MS,
        template: { cpu: '8', memory: '32Gi', gpus: 2, labels: { 'bench/nodes': 'pool' } },
      },
    ],
  },
});
const { cloud, autoscaler } = cluster.autoscaling!;
await core.createNamespace({ body: { metadata: { name: 'bench' } } });
await until(() =>
  core.readNamespacedServiceAccount({ name: 'default', namespace: 'bench' }).then(() => true),
);

const operator = spawn(
  process.execPath,
  [
    '--conditions=kiln-src',
    '--import',
    '@swc-node/register/esm-register',
    join(root, 'apps/operator/src/main.ts'),
    '--health-port=0',
    '--health-host=127.0.0.1',
    '--lease-namespace=kube-system',
    '--pod-grace-period-seconds=0',
  ],
  {
    cwd: root,
    env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath, KILN_LOG_LEVEL: 'warn' },
    stdio: 'inherit',
  },
);

const job = (name: string, nodes: 'pool' | 'static') => ({
  apiVersion: 'kiln.dev/v1alpha1',
  kind: 'TrainingJob',
  metadata: { name },
  spec: {
    image: 'bench',
    command: ['sleep', '600'],
    workers: 4,
    resources: { limits: { cpu: '10m', memory: '16Mi', 'nvidia.com/gpu': '1' } },
    scheduling: { nodeSelector: { 'bench/nodes': nodes } },
  },
});
const tj = { group: 'kiln.dev', version: 'v1alpha1', plural: 'trainingjobs', namespace: 'bench' };
const running = async (name: string) =>
  (
    await core.listNamespacedPod({ namespace: 'bench', labelSelector: `kiln.dev/job-name=${name}` })
  ).items.filter((p) => p.status?.phase === 'Running').length === 4;
const requestOf = async (name: string) =>
  (
    (await custom.listNamespacedCustomObject({
      group: 'autoscaling.x-k8s.io',
      version: 'v1',
      plural: 'provisioningrequests',
      namespace: 'bench',
      labelSelector: `kiln.dev/provisioning-for=${name}`,
    })) as { items: unknown[] }
  ).items.length > 0;
const poolSize = async () => (await core.listNode({ labelSelector: 'kiln.dev/pool=gpu' })).items.length;
async function remove(name: string) {
  await custom.deleteNamespacedCustomObject({ ...tj, name });
  await until(
    async () =>
      (await core.listNamespacedPod({ namespace: 'bench', labelSelector: `kiln.dev/job-name=${name}` })).items
        .length === 0,
    50,
  );
}

const split = {
  request: [] as number[],
  decided: [] as number[],
  nodes: [] as number[],
  running: [] as number[],
};
const baseline: number[] = [];
const scaleDown: number[] = [];
for (let i = 0; i < REPEATS; i++) {
  // Baseline first, while the pool is empty: the same job on the 2 static GPU nodes.
  let t0 = performance.now();
  await custom.createNamespacedCustomObject({ ...tj, body: job(`static-${i}`, 'static') });
  await until(() => running(`static-${i}`));
  baseline.push(performance.now() - t0);
  await remove(`static-${i}`);

  const marks: Record<string, number> = {};
  let registered = 0;
  const off = cloud.on((e) => {
    if (e.pool !== 'gpu') return;
    if (e.type === 'increase') marks.decided ??= performance.now();
    if (e.type === 'registered' && ++registered === 2) marks.nodes = performance.now();
  });
  t0 = performance.now();
  await custom.createNamespacedCustomObject({ ...tj, body: job(`pool-${i}`, 'pool') });
  await until(async () => {
    if (marks.request === undefined && (await requestOf(`pool-${i}`))) marks.request = performance.now();
    return running(`pool-${i}`);
  });
  marks.running = performance.now();
  off();
  split.request.push(marks.request! - t0);
  split.decided.push(marks.decided! - t0);
  split.nodes.push(marks.nodes! - t0);
  split.running.push(marks.running - t0);

  const d0 = performance.now();
  await remove(`pool-${i}`);
  await until(async () => (await poolSize()) === 0, 100);
  scaleDown.push(performance.now() - d0);
}

// Idle: nothing queued, the pool at zero; CA keeps scanning every second.
await sleep(3000);
const caTicks = () => {
  const f = readFileSync(`/proc/${autoscaler.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100 Hz)
};
const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const ca0 = caTicks();
const self0 = process.cpuUsage();
const grpc0 = [...cluster.autoscaling!.server.calls.values()].reduce((a, b) => a + b, 0);
await sleep(IDLE_S * 1000);
const caCpu = ((caTicks() - ca0) / 100 / IDLE_S) * 100;
const self = process.cpuUsage(self0);
const selfCpu = ((self.user + self.system) / 1e6 / IDLE_S) * 100;
const grpcPerS =
  ([...cluster.autoscaling!.server.calls.values()].reduce((a, b) => a + b, 0) - grpc0) / IDLE_S;

console.log(
  `\nAutoscaling (load average ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end; ${REPEATS} runs, pool boot delay ${BOOT_MS} ms)`,
);
console.log('4-worker × 1-GPU job needing 2 new 2-GPU nodes, apply → (median, all runs):');
console.log(`  ProvisioningRequest created   ${fmt(split.request)}`);
console.log(`  CA scale-up decided           ${fmt(split.decided)}`);
console.log(`  2 nodes Ready                 ${fmt(split.nodes)}`);
console.log(`  4 pods Running                ${fmt(split.running)}`);
console.log(`  baseline: same job on 2 existing nodes → Running   ${fmt(baseline)}`);
console.log(
  `  ratio scale-up/baseline ${(median(split.running) / median(baseline)).toFixed(1)}×; without the boot delay ${((median(split.running) - BOOT_MS) / median(baseline)).toFixed(1)}×`,
);
console.log(`scale-down: job deleted → pool at 0 nodes   ${fmt(scaleDown)}`);
console.log(`idle (${IDLE_S} s window, pool at zero):`);
console.log(
  `  cluster-autoscaler  ${caCpu.toFixed(1)} % of one core, RSS ${rssMiB(autoscaler.pid).toFixed(0)} MiB`,
);
console.log(
  `  this process (node agent + local cloud + bench)  ${selfCpu.toFixed(1)} % of one core, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB; gRPC calls from CA ${grpcPerS.toFixed(1)}/s`,
);

operator.kill('SIGTERM');
await new Promise((r) => operator.once('exit', r));
await cluster.stop();

// Operator benchmark on the local control plane (real apiserver, scheduler, controller-manager, our
// node agent). Prints figures and ratios against a baseline measured in the same run; never asserts.
//   1. create → all 4 workers Running, for a 4-worker TrainingJob, against the baseline of creating the
//      same 4 pods directly (what the control plane and node agent cost without the operator);
//   2. 200 one-worker jobs created at once: time until all Succeeded, the operator's API requests per
//      job (its own counters) and its memory (resident set, from its /metrics).
// Run: node --conditions=kiln-src --import @swc-node/register/esm-register bench/operator/operator.bench.ts
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type V1Pod } from '@kubernetes/client-node';
import { startBenchCluster } from '../support/cluster.js';

const root = new URL('../../', import.meta.url).pathname;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const JOBS = Number(process.env.BENCH_JOBS ?? 200);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function until(fn: () => Promise<boolean>, pollMs = 20, timeoutMs = 120_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(pollMs);
  }
  throw new Error('timed out');
}

const { cluster, core, custom } = await startBenchCluster({
  nodes: [{ name: 'bench-node', cpu: '64', memory: '256Gi', gpus: 8, pods: 1000 }],
});
for (const ns of ['bench', 'bench-base', 'bench-many'])
  await core.createNamespace({ body: { metadata: { name: ns } } });
await until(async () =>
  core.readNamespacedServiceAccount({ name: 'default', namespace: 'bench-many' }).then(
    () => true,
    () => false,
  ),
);

const healthPort = await freePort();
const operator = spawn(
  process.execPath,
  [
    '--conditions=kiln-src',
    '--import',
    '@swc-node/register/esm-register',
    join(root, 'apps/operator/src/main.ts'),
    `--health-port=${healthPort}`,
    '--health-host=127.0.0.1',
    '--lease-namespace=kube-system',
    '--concurrency=8',
    '--pod-grace-period-seconds=0',
  ],
  {
    cwd: root,
    env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath, KILN_LOG_LEVEL: 'warn' },
    stdio: 'inherit',
  },
);
const metrics = async () => (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
const metric = (text: string, re: RegExp) => [...text.matchAll(re)].reduce((s, m) => s + Number(m[1]), 0);
const apiRequests = async () => metric(await metrics(), /^kiln_operator_api_requests_total\{[^}]*\} (\d+)/gm);
const rss = async () => metric(await metrics(), /^kiln_operator_process_resident_memory_bytes (\d+)/gm);
await until(
  async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined))?.status === 200,
  100,
  60_000,
);
await sleep(500); // leader election

const worker = {
  image: 'bench',
  command: ['sleep', '600'],
  resources: { limits: { cpu: '10m', memory: '16Mi', 'nvidia.com/gpu': '1' } },
};
const running = async (ns: string, selector: string, n: number) => {
  const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
  return pods.filter((p: V1Pod) => p.status?.phase === 'Running').length === n;
};

// 1. create → 4 Running: the operator against the same 4 pods created directly.
const base: number[] = [];
const op: number[] = [];
for (let i = 0; i < REPEATS; i++) {
  let t0 = performance.now();
  await Promise.all(
    [0, 1, 2, 3].map((r) =>
      core.createNamespacedPod({
        namespace: 'bench-base',
        body: {
          metadata: { name: `b${i}-${r}`, labels: { run: `b${i}` } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'c', ...worker }] },
        },
      }),
    ),
  );
  await until(() => running('bench-base', `run=b${i}`, 4));
  base.push(performance.now() - t0);
  await core.deleteCollectionNamespacedPod({ namespace: 'bench-base', gracePeriodSeconds: 0 });

  t0 = performance.now();
  await custom.createNamespacedCustomObject({
    group: 'kiln.dev',
    version: 'v1alpha1',
    plural: 'trainingjobs',
    namespace: 'bench',
    body: {
      apiVersion: 'kiln.dev/v1alpha1',
      kind: 'TrainingJob',
      metadata: { name: `j${i}` },
      spec: { ...worker, workers: 4 },
    },
  });
  await until(() => running('bench', `kiln.dev/job-name=j${i}`, 4));
  op.push(performance.now() - t0);
  await custom.deleteNamespacedCustomObject({
    group: 'kiln.dev',
    version: 'v1alpha1',
    plural: 'trainingjobs',
    namespace: 'bench',
    name: `j${i}`,
  });
  await until(async () => (await core.listNamespacedPod({ namespace: 'bench' })).items.length === 0, 50);
  await until(async () => (await core.listNamespacedPod({ namespace: 'bench-base' })).items.length === 0, 50);
}
console.log(`\n4-worker job, create → all Running (median of ${REPEATS}, local control plane)`);
console.log(
  `  operator (TrainingJob)   ${median(op).toFixed(0)} ms   [${op.map((x) => x.toFixed(0)).join(', ')}]   goal ≤ 2000 ms`,
);
console.log(
  `  baseline (4 bare pods)   ${median(base).toFixed(0)} ms   [${base.map((x) => x.toFixed(0)).join(', ')}]`,
);
console.log(
  `  ratio operator/baseline  ${(median(op) / median(base)).toFixed(2)}×   (operator's own share ≈ ${(median(op) - median(base)).toFixed(0)} ms)`,
);

// 2. JOBS one-worker jobs at once (sleep 1 s each, no GPU so all fit): converge time, requests, memory.
const reqBefore = await apiRequests();
const rssBefore = await rss();
let rssPeak = rssBefore;
const sampler = setInterval(async () => {
  rssPeak = Math.max(rssPeak, await rss().catch(() => 0));
}, 250);
const short = {
  image: 'bench',
  command: ['sleep', '1'],
  resources: { limits: { cpu: '10m', memory: '16Mi' } },
};
const t0 = performance.now();
for (let i = 0; i < JOBS; i += 20) {
  await Promise.all(
    Array.from({ length: Math.min(20, JOBS - i) }, (_, k) =>
      custom.createNamespacedCustomObject({
        group: 'kiln.dev',
        version: 'v1alpha1',
        plural: 'trainingjobs',
        namespace: 'bench-many',
        body: {
          apiVersion: 'kiln.dev/v1alpha1',
          kind: 'TrainingJob',
          metadata: { name: `m${i + k}` },
          spec: { ...short, workers: 1 },
        },
      }),
    ),
  );
}
const created = performance.now() - t0;
await until(
  async () => {
    const list = (await custom.listNamespacedCustomObject({
      group: 'kiln.dev',
      version: 'v1alpha1',
      plural: 'trainingjobs',
      namespace: 'bench-many',
    })) as {
      items: { status?: { phase?: string } }[];
    };
    return list.items.length === JOBS && list.items.every((j) => j.status?.phase === 'Succeeded');
  },
  250,
  600_000,
);
const converged = performance.now() - t0;
clearInterval(sampler);
const requests = (await apiRequests()) - reqBefore;
console.log(`\n${JOBS} one-worker jobs created at once (each worker sleeps 1 s)`);
console.log(`  created in               ${created.toFixed(0)} ms`);
console.log(
  `  all Succeeded after      ${converged.toFixed(0)} ms   (${((JOBS * 1000) / converged).toFixed(1)} jobs/s)`,
);
console.log(
  `  API requests per job     ${(requests / JOBS).toFixed(1)}   (${requests} in all, operator's own count; watches excluded)`,
);
console.log(
  `  operator memory (RSS)    ${(rssBefore / 2 ** 20).toFixed(0)} MiB before, ${(rssPeak / 2 ** 20).toFixed(0)} MiB peak`,
);

operator.kill('SIGTERM');
await new Promise((r) => operator.once('exit', r));
await cluster.stop();

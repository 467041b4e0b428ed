// Sweep dispatch on the local control plane (real apiserver and etcd; no nodes: the trial jobs are
// created suspended, so nothing runs). Prints figures and ratios; never asserts.
//   sweep:  a random sweep with parallelism = maxTrials = N is inserted and its "changed" event sent
//           through BullMQ; the worker (in this process) asks N trials, writes their trial and run rows
//           and creates N suspended TrainingJobs. Timed from the insert until all N jobs exist (each
//           trial row carries its job's uid only after the job was created; a LIST confirms N).
//           Two variants: with the per-trial tracking Secret (the real path: 2 requests a trial) and without.
//           The worker runs as deployed, watching trial TrainingJobs (each created job is an event).
//   loop:   the baselines in the same run: a plain client-node loop creating N TrainingJobs one after
//           another, and the same creates 32 at a time (as many as the worker keeps in flight): the
//           apiserver's own rate for these creates here, which bounds any dispatcher on this machine.
// Goal: ≥ 200 trials/s for N = 200.
// Run: node --conditions=kiln-src --import @swc-node/register/esm-register bench/sweeps/dispatch.ts
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { createDb, createTestDatabase } from '@kiln/db';
import { API_GROUP, API_VERSION, TRAININGJOB_PLURAL, validateSweep } from '@kiln/spec';
import { runTokenIssuer } from '@kiln/sweep-runner';
import { KubeLauncher, SweepWorker } from '@kiln/worker';
import { pino } from 'pino';
import { startBenchCluster } from '../support/cluster.js';

const N = Number(process.env.BENCH_TRIALS ?? 200);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const base = { group: API_GROUP, version: API_VERSION, plural: TRAININGJOB_PLURAL };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
const loadAtStart = load();

const { cluster, kc, core, custom } = await startBenchCluster({ nodes: [] });

const tdb = await createTestDatabase('bench_dispatch');
const db = createDb(tdb.url, 20);
const { rows: projects } = await db.pool.query<{ id: string }>(
  `INSERT INTO projects (name, namespace) VALUES ('bench', 'bench') RETURNING id`,
);
const projectId = projects[0]!.id;
const template = {
  image: 'kiln-bench',
  command: ['node', '-e', '0'],
  workers: 1,
  resources: { limits: { cpu: '100m', memory: '64Mi' } },
};

async function namespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name: ns } } });
  return ns;
}

async function countJobs(ns: string): Promise<number> {
  const out = (await custom.listNamespacedCustomObject({ ...base, namespace: ns })) as { items: unknown[] };
  return out.items.length;
}

async function sweepRun(withSecrets: boolean, i: number): Promise<number> {
  const ns = await namespace('sweep');
  const name = `dispatch-${i}`;
  const v = validateSweep({
    apiVersion: 'kiln.dev/v1alpha1',
    kind: 'Sweep',
    metadata: { name },
    spec: {
      objective: { metric: 'val/loss', goal: 'minimize' },
      algorithm: { type: 'random', seed: i },
      parameters: {
        lr: { type: 'loguniform', min: 1e-4, max: 1e-1 },
        width: { type: 'int', min: 16, max: 512 },
      },
      maxTrials: N,
      parallelism: N,
      trialTemplate: template,
    },
  });
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  const worker = new SweepWorker({
    db,
    redis: {
      url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      prefix: `kiln-bench-${randomBytes(4).toString('hex')}`,
    },
    launcher: new KubeLauncher(kc, {
      suspend: true,
      ...(withSecrets && { issueRunToken: runTokenIssuer(db) }),
    }),
    log: pino({ level: 'warn' }),
    rescanMs: 60_000,
    concurrency: 1,
    watch: kc, // as deployed: the TrainingJob watch sends an event per job it sees created
  });
  await worker.start();
  const t0 = performance.now();
  const { rows } = await db.pool.query<{ id: string }>(
    `INSERT INTO sweeps (project_id, name, namespace, spec, max_trials, parallelism) VALUES ($1, $2, $3, $4, $5, $5)
     RETURNING id`,
    [projectId, name, ns, JSON.stringify(v.value), N],
  );
  await worker.events.changed(rows[0]!.id);
  for (;;) {
    const r = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM trials WHERE sweep_id = $1 AND job_uid IS NOT NULL',
      [rows[0]!.id],
    );
    if (r.rows[0]!.n >= N) break;
    await sleep(5);
  }
  const ms = performance.now() - t0;
  await worker.close();
  const jobs = await countJobs(ns);
  if (jobs !== N) throw new Error(`expected ${N} TrainingJobs, found ${jobs}`);
  return ms;
}

/** N suspended TrainingJobs created by `inFlight` client-node loops taking the next index in turn. */
async function loopRun(inFlight = 1): Promise<number> {
  const ns = await namespace('loop');
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < N; i = next++)
        await custom.createNamespacedCustomObject({
          ...base,
          namespace: ns,
          body: {
            apiVersion: 'kiln.dev/v1alpha1',
            kind: 'TrainingJob',
            metadata: { name: `loop-${i}`, namespace: ns },
            spec: { ...template, runPolicy: { suspend: true }, hyperparameters: { lr: 0.01, width: i } },
          },
        });
    }),
  );
  const ms = performance.now() - t0;
  const jobs = await countJobs(ns);
  if (jobs !== N) throw new Error(`expected ${N} TrainingJobs, found ${jobs}`);
  return ms;
}

const results: Record<string, number[]> = {
  'sweep (with tracking Secrets)': [],
  'sweep (jobs only)': [],
  'client-node loop': [],
  'client-node, 32 in flight': [],
};
try {
  await loopRun(); // warm-up: CRD handler, watch caches, connection pools
  for (let i = 0; i < REPEATS; i++) {
    results['client-node loop']!.push(await loopRun());
    results['client-node, 32 in flight']!.push(await loopRun(32));
    results['sweep (with tracking Secrets)']!.push(await sweepRun(true, i * 2));
    results['sweep (jobs only)']!.push(await sweepRun(false, i * 2 + 1));
  }
  const loopMs = median(results['client-node loop']!);
  console.log(
    `\nSweep dispatch: ${N} suspended TrainingJobs, median of ${REPEATS} runs (load average at start ${loadAtStart}, at end ${load()}; 2-core machine shared with other builds)`,
  );
  console.log('| method | ms (median) | trials/s | vs loop | runs (ms) |');
  console.log('|---|---:|---:|---:|---|');
  for (const [k, xs] of Object.entries(results)) {
    const m = median(xs);
    console.log(
      `| ${k} | ${m.toFixed(0)} | ${((N / m) * 1000).toFixed(0)} | ${(loopMs / m).toFixed(2)}x | ${xs.map((x) => x.toFixed(0)).join(', ')} |`,
    );
  }
  console.log(`goal: ≥ 200 trials/s`);
} finally {
  await db.close();
  await tdb.drop();
  await cluster.stop();
}
process.exit(0);

// The sweep worker against the local control plane: real kube-apiserver and etcd, the operator (its own
// process, as deployed) and the node agent running each trial's pod as a process on this machine, real
// Postgres and Redis. The trial is the fake trainer (fixtures/trial.mjs): it records val/loss per epoch
// to its run and serves the operator's progress endpoint. The worker's re-scan is slowed to 2 minutes in
// the first test, so the sweep moves only through the watch on its trial TrainingJobs.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { clusterForTests } from '@kiln/local-cluster/test-helper';
import { API_GROUP, API_VERSION, LABELS, TRAININGJOB_PLURAL } from '@kiln/spec';
import { runTokenIssuer, SweepStore, searchSpecOf } from '@kiln/sweep-runner';
import { createSearch } from '@kiln/sweeps';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { pino } from 'pino';
import { KubeLauncher } from '../src/kube-launcher.js';
import { SweepWorker } from '../src/worker.js';
import {
  FAKE_TRAINER,
  insertSweep,
  killWorkersAtRandom,
  REDIS_URL,
  redisPrefix,
  spawnWorkerProcess,
  sweepDoc,
  sweepStatus,
  type TestDb,
  testDb,
  trialRows,
  waitFor,
} from './support.js';

const root = new URL('../../../', import.meta.url).pathname;
const k = clusterForTests({ nodes: [{ name: 'node-a', cpu: '16', memory: '64Gi' }] });
const base = { group: API_GROUP, version: API_VERSION, plural: TRAININGJOB_PLURAL };
let d: TestDb;
let dir: string;
let operator: ChildProcess | undefined;

interface Job {
  metadata: { name: string; uid: string; labels: Record<string, string>; deletionTimestamp?: string };
  status?: { phase?: string };
}

// Node 20 runs a file's top-level before() hooks concurrently, so this one waits for the cluster itself.
before(
  async () => {
    d = await testDb('worker_cluster');
    dir = mkdtempSync(join(tmpdir(), 'kiln-sweep-cluster-'));
    await k.ready();
    await k.installTrainingJobCrd();
    const loader = ['--conditions=kiln-src', '--import', '@swc-node/register/esm-register'];
    const flags = [
      '--health-port=0',
      '--health-host=127.0.0.1',
      '--lease-namespace=kube-system',
      '--lease-duration-seconds=1',
      '--lease-retry-period-seconds=0.1',
      '--progress-interval-seconds=0.3',
      '--pod-grace-period-seconds=1',
    ];
    const child = spawn(process.execPath, [...loader, join(root, 'apps/operator/src/main.ts'), ...flags], {
      cwd: root,
      env: { ...process.env, KUBECONFIG: k.kubeconfigPath, KILN_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    operator = child;
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (process.env.KILN_TEST_LOG) console.log(line);
        if (line.includes('"became leader"')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the operator exited (${code}) before it led`)));
    });
  },
  { timeout: 240_000 },
);
after(async () => {
  if (operator?.exitCode === null) operator.kill('SIGKILL');
  await d?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function spec(o: {
  name: string;
  maxTrials: number;
  parallelism: number;
  algorithm: Record<string, unknown>;
  env: Record<string, string>;
}) {
  return sweepDoc(o.name, {
    objective: { metric: 'val/loss', goal: 'minimize' },
    algorithm: o.algorithm,
    parameters: { x: { type: 'uniform', min: 0, max: 1 }, width: { type: 'int', min: 16, max: 128 } },
    maxTrials: o.maxTrials,
    parallelism: o.parallelism,
    trialTemplate: {
      image: 'kiln-test',
      command: ['node', FAKE_TRAINER],
      workers: 1,
      resources: { limits: { cpu: '100m', memory: '64Mi' } },
      env: Object.entries({ DATABASE_URL: d.t.url, TRIAL_LOG: join(dir, `${o.name}.log`), ...o.env }).map(
        ([name, value]) => ({ name, value }),
      ),
    },
  });
}

async function sweepJobs(ns: string, id: string): Promise<Job[]> {
  const custom = k.kc.makeApiClient(CustomObjectsApi);
  const out = (await custom.listNamespacedCustomObject({
    ...base,
    namespace: ns,
    labelSelector: `${LABELS.sweepId}=${id}`,
  })) as { items: Job[] };
  return out.items;
}

async function waitStatus(id: string, status: string, timeoutMs: number) {
  try {
    await waitFor(`sweep ${status}`, async () => (await sweepStatus(d, id)) === status, timeoutMs);
  } catch (e) {
    console.error('trials:', JSON.stringify(await trialRows(d, id)));
    throw e;
  }
}

/** Each trial's pod ran its command exactly once: no TrainingJob was made twice for one trial. */
function startsPerTrial(name: string): string[] {
  return readFileSync(join(dir, `${name}.log`), 'utf8')
    .trim()
    .split('\n')
    .sort();
}

test('a 12-trial ASHA sweep with parallelism 3 completes on the cluster, moved by the TrainingJob watch; ASHA prunes some, their jobs deleted', async () => {
  const ns = await k.namespace('sweep');
  const doc = spec({
    name: 'asha',
    maxTrials: 12,
    parallelism: 3,
    algorithm: { type: 'asha', seed: 7, minResource: 1, maxResource: 4, reductionFactor: 2 },
    env: { EPOCHS: '4', EPOCH_MS: '600' },
  });
  const id = await insertSweep(d, doc, { namespace: ns });
  const worker = new SweepWorker({
    db: d.db,
    redis: { url: REDIS_URL, prefix: redisPrefix() },
    launcher: new KubeLauncher(k.kc, { issueRunToken: runTokenIssuer(d.db) }),
    log: pino({ level: process.env.KILN_TEST_LOG ?? 'silent' }),
    rescanMs: 120_000,
    concurrency: 2,
    watch: k.kc,
  });
  let most = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const live = (await sweepJobs(ns, id).catch(() => [])).filter(
        (j) =>
          !j.metadata.deletionTimestamp && j.status?.phase !== 'Succeeded' && j.status?.phase !== 'Failed',
      );
      most = Math.max(most, live.length);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await worker.start();
    await waitStatus(id, 'completed', 150_000);
  } finally {
    sampling = false;
    await sampler;
    await worker.close();
  }
  const rows = await trialRows(d, id);
  assert.deepEqual(
    rows.map((r) => r.number),
    [...Array(12).keys()],
  );
  const pruned = rows.filter((r) => r.state === 'pruned');
  const complete = rows.filter((r) => r.state === 'complete');
  assert.equal(pruned.length + complete.length, 12, JSON.stringify(rows));
  assert.ok(pruned.length > 0, `ASHA pruned none: ${JSON.stringify(rows)}`);
  assert.ok(complete.length > 0);
  const sweep = (await new SweepStore(d.db).sweep(id))!;
  assert.deepEqual(
    rows.map((r) => r.params),
    createSearch(searchSpecOf(sweep))
      .ask(12)
      .map((t) => t.params),
  );
  for (const r of complete) {
    const p = r.params as { x: number; width: number };
    assert.ok(Math.abs(r.value! - ((p.x - 0.3) ** 2 + p.width / 1000 + 1 / 4)) < 1e-9, `trial ${r.number}`);
  }
  // Complete trials' jobs Succeeded and are the ones recorded; pruned trials' jobs were deleted.
  const jobs = new Map((await sweepJobs(ns, id)).map((j) => [Number(j.metadata.labels[LABELS.trial]), j]));
  for (const r of complete) {
    assert.equal(jobs.get(r.number)?.status?.phase, 'Succeeded', `trial ${r.number}`);
    assert.equal(jobs.get(r.number)?.metadata.uid, r.jobUid);
  }
  await waitFor('pruned trials’ jobs deleted', async () => {
    const left = new Set((await sweepJobs(ns, id)).map((j) => Number(j.metadata.labels[LABELS.trial])));
    return pruned.every((r) => !left.has(r.number));
  });
  assert.ok(most <= 3, `at most 3 trial jobs were live at once, saw ${most}`);
  assert.deepEqual(startsPerTrial('asha'), rows.map((r) => `asha-${r.number}`).sort());
});

test('worker processes SIGKILLed at ≥ 10 random points, two at once, with trials as TrainingJobs: no duplicate job, trial or run, none lost, the trials a run without kills makes', async () => {
  const ns = await k.namespace('kills');
  const doc = spec({
    name: 'kills',
    maxTrials: 12,
    parallelism: 3,
    algorithm: { type: 'random', seed: 11 },
    env: { EPOCHS: '4', EPOCH_MS: '500' },
  });
  const id = await insertSweep(d, doc, { namespace: ns });
  const env = { DATABASE_URL: d.t.url, KILN_REDIS_PREFIX: redisPrefix(), KUBECONFIG: k.kubeconfigPath };
  const kills = await killWorkersAtRandom(env, 10, async () => (await sweepStatus(d, id)) === 'completed');
  assert.ok(kills >= 10, `the sweep ended after only ${kills} kills`);
  const last = spawnWorkerProcess(env).child;
  try {
    await waitStatus(id, 'completed', 120_000);
  } finally {
    last.kill('SIGKILL');
  }
  const rows = await trialRows(d, id);
  assert.deepEqual(
    rows.map((r) => r.number),
    [...Array(12).keys()],
  );
  assert.ok(
    rows.every((r) => r.state === 'complete'),
    JSON.stringify(rows.map((r) => r.state)),
  );
  const sweep = (await new SweepStore(d.db).sweep(id))!;
  assert.deepEqual(
    rows.map((r) => r.params),
    createSearch(searchSpecOf(sweep))
      .ask(12)
      .map((t) => t.params),
  );
  const runs = await d.db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM runs WHERE sweep_id = $1 GROUP BY trial_id',
    [id],
  );
  assert.equal(runs.rows.length, 12);
  assert.ok(runs.rows.every((r) => r.n === 1));
  // One TrainingJob per trial, the one each trial row records, and each trial's pod ran once.
  const jobs = await sweepJobs(ns, id);
  assert.deepEqual(jobs.map((j) => j.metadata.name).sort(), rows.map((r) => `kills-${r.number}`).sort());
  const byTrial = new Map(jobs.map((j) => [Number(j.metadata.labels[LABELS.trial]), j]));
  for (const r of rows) assert.equal(byTrial.get(r.number)?.metadata.uid, r.jobUid, `trial ${r.number}`);
  assert.deepEqual(startsPerTrial('kills'), rows.map((r) => `kills-${r.number}`).sort());
});

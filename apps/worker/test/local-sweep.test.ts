// The sweep worker end to end on this machine: real Postgres, Redis (BullMQ) and trial processes (the
// local launcher; the cluster variant is sweep-cluster.test.ts). A fake trainer records val/loss.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LocalLauncher, SweepStore, searchSpecOf } from '@kiln/sweep-runner';
import { createSearch } from '@kiln/sweeps';
import { pino } from 'pino';
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
let d: TestDb;
let dir: string;
before(async () => {
  d = await testDb('worker_local');
  dir = mkdtempSync(join(tmpdir(), 'kiln-sweep-'));
});
after(async () => {
  await d?.close();
  rmSync(dir, { recursive: true, force: true });
});

function spec(o: {
  maxTrials: number;
  parallelism: number;
  env?: Record<string, string>;
  seed?: number;
  algorithm?: Record<string, unknown>;
}) {
  return {
    objective: { metric: 'val/loss', goal: 'minimize' },
    algorithm: o.algorithm ?? { type: 'random', seed: o.seed ?? 7 },
    parameters: { x: { type: 'uniform', min: 0, max: 1 }, width: { type: 'int', min: 16, max: 128 } },
    maxTrials: o.maxTrials,
    parallelism: o.parallelism,
    trialTemplate: {
      image: 'kiln-test',
      command: ['node', FAKE_TRAINER],
      env: Object.entries({ DATABASE_URL: d.t.url, ...o.env }).map(([name, value]) => ({ name, value })),
    },
  };
}

function inProcessWorker(label: string) {
  const w = new SweepWorker({
    db: d.db,
    redis: { url: REDIS_URL, prefix: redisPrefix() },
    launcher: new LocalLauncher({ root: join(dir, label), cwd: root }),
    log: pino({ level: process.env.KILN_TEST_LOG ?? 'silent' }),
    rescanMs: 200,
    concurrency: 2,
    executor: 'local',
  });
  return w;
}

async function waitStatus(id: string, status: string, timeoutMs = 90_000) {
  try {
    await waitFor(`sweep ${status}`, async () => (await sweepStatus(d, id)) === status, timeoutMs);
  } catch (e) {
    console.error('trials:', JSON.stringify(await trialRows(d, id)));
    throw e;
  }
}

test('a 12-trial ASHA sweep with parallelism 3 completes: ASHA prunes some (their processes stopped), params as the search asks, never more than 3 running', async () => {
  const doc = sweepDoc(
    'twelve',
    spec({
      maxTrials: 12,
      parallelism: 3,
      algorithm: { type: 'asha', seed: 7, minResource: 1, maxResource: 4, reductionFactor: 2 },
      env: { EPOCHS: '4', EPOCH_MS: '700' },
    }),
  );
  const id = await insertSweep(d, doc, { executor: 'local' });
  const w = inProcessWorker('twelve');
  let most = 0;
  const sample = setInterval(async () => {
    const rows = await trialRows(d, id).catch(() => []);
    most = Math.max(most, rows.filter((r) => r.state === 'running').length);
  }, 50);
  try {
    await w.start();
    await waitStatus(id, 'completed', 180_000);
  } finally {
    clearInterval(sample);
    await w.close();
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
  const expected = createSearch(searchSpecOf(await new SweepStore(d.db).sweep(id).then((s) => s!))).ask(12);
  assert.deepEqual(
    rows.map((r) => r.params),
    expected.map((t) => t.params),
  );
  // A complete trial's value is its run's last val/loss (epoch 4 of the fake trainer).
  for (const r of complete) {
    const p = r.params as { x: number; width: number };
    assert.ok(Math.abs(r.value! - ((p.x - 0.3) ** 2 + p.width / 1000 + 1 / 4)) < 1e-9);
  }
  // Pruned trials' processes are gone, stopped mid-run (one may have finished on its own between the
  // pass's LIST and the prune decision).
  const launcher = new LocalLauncher({ root: join(dir, 'twelve'), cwd: root });
  const running = await launcher.list((await new SweepStore(d.db).sweep(id))!);
  for (const r of pruned) assert.notEqual(running.get(r.number)?.phase, 'running', `trial ${r.number}`);
  assert.ok(
    pruned.some((r) => existsSync(join(launcher.trialDir(id, r.number), 'stopped'))),
    'some pruned trial was stopped mid-run',
  );
  assert.ok(most <= 3, `at most 3 trials ran at once, saw ${most}`);
  const runs = await d.db.pool.query('SELECT count(*)::int AS n FROM runs WHERE sweep_id = $1', [id]);
  assert.equal(runs.rows[0].n, 12);
});

test('failed trial processes count as failed trials and the sweep goes on to completion', async () => {
  const doc = sweepDoc('fails', spec({ maxTrials: 6, parallelism: 2, env: { FAIL_X: '0.5', EPOCHS: '1' } }));
  const id = await insertSweep(d, doc, { executor: 'local' });
  const w = inProcessWorker('fails');
  try {
    await w.start();
    await waitStatus(id, 'completed');
  } finally {
    await w.close();
  }
  const rows = await trialRows(d, id);
  assert.equal(rows.length, 6);
  for (const r of rows) {
    const x = (r.params as { x: number }).x;
    assert.equal(r.state, x > 0.5 ? 'failed' : 'complete', `trial ${r.number} x=${x}`);
  }
  assert.ok(rows.some((r) => r.state === 'failed') && rows.some((r) => r.state === 'complete'));
});

test('raising parallelism while it runs takes effect; pause starts none and leaves running trials alone', async () => {
  const doc = sweepDoc('edit', spec({ maxTrials: 8, parallelism: 1, env: { EPOCHS: '4', EPOCH_MS: '500' } }));
  const id = await insertSweep(d, doc, { executor: 'local' });
  const w = inProcessWorker('edit');
  const running = async () => (await trialRows(d, id)).filter((r) => r.state === 'running');
  try {
    await w.start();
    await waitFor('one trial running', async () => (await running()).length === 1, 30_000);
    await d.db.pool.query('UPDATE sweeps SET parallelism = 3 WHERE id = $1', [id]);
    await w.events.changed(id);
    await waitFor('three trials running at once', async () => (await running()).length === 3, 30_000);

    await d.db.pool.query(`UPDATE sweeps SET status = 'paused' WHERE id = $1`, [id]);
    await w.events.changed(id);
    const atPause = await trialRows(d, id);
    const wasRunning = atPause.filter((r) => r.state === 'running').map((r) => r.number);
    // The running ones finish as complete trials (not pruned, not stopped); no new trial starts.
    await waitFor('paused trials finished', async () => (await running()).length === 0, 60_000);
    await new Promise((r) => setTimeout(r, 1000)); // several re-scans (200 ms) while paused
    const paused = await trialRows(d, id);
    assert.ok(paused.length <= atPause.length + 3, 'a pass already under way may have started trials');
    const started = paused.length;
    for (const n of wasRunning) assert.equal(paused[n]!.state, 'complete');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await trialRows(d, id)).length, started, 'no trial starts while paused');
    assert.equal(await sweepStatus(d, id), 'paused');

    await d.db.pool.query(`UPDATE sweeps SET status = 'running' WHERE id = $1`, [id]);
    await w.events.changed(id);
    await waitStatus(id, 'completed');
  } finally {
    await w.close();
  }
  assert.equal((await trialRows(d, id)).length, 8);
});

test('stop ends running trials (their processes killed) and the sweep', async () => {
  const doc = sweepDoc(
    'stop',
    spec({ maxTrials: 10, parallelism: 2, env: { EPOCHS: '50', EPOCH_MS: '200' } }),
  );
  const id = await insertSweep(d, doc, { executor: 'local' });
  const w = inProcessWorker('stop');
  try {
    await w.start();
    await waitFor(
      'two trials running',
      async () => (await trialRows(d, id)).filter((r) => r.state === 'running' && r.jobUid).length === 2,
      30_000,
    );
    await d.db.pool.query(`UPDATE sweeps SET status = 'stopping' WHERE id = $1`, [id]);
    await w.events.changed(id);
    await waitStatus(id, 'stopped', 30_000);
  } finally {
    await w.close();
  }
  const rows = await trialRows(d, id);
  assert.deepEqual(
    rows.map((r) => r.state),
    ['stopped', 'stopped'],
  );
  for (const r of rows) {
    const pid = Number(r.jobUid!.replace('local-', ''));
    await waitFor(`trial ${r.number} process gone`, async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  }
});

test('workers SIGKILLed at ≥ 10 random points, two at once: no duplicate trial or run, none lost, the same trials as without kills', async () => {
  const doc = sweepDoc(
    'kills',
    spec({ maxTrials: 12, parallelism: 2, seed: 11, env: { EPOCHS: '4', EPOCH_MS: '400' } }),
  );
  const trialLog = join(dir, 'kills-trials.log');
  doc.spec.trialTemplate.env = [
    ...(doc.spec.trialTemplate.env ?? []),
    { name: 'TRIAL_LOG', value: trialLog },
  ];
  const id = await insertSweep(d, doc, { executor: 'local' });
  const env = { DATABASE_URL: d.t.url, KILN_REDIS_PREFIX: redisPrefix(), TRIAL_ROOT: join(dir, 'kills') };
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
  const expected = createSearch(searchSpecOf((await new SweepStore(d.db).sweep(id))!)).ask(12);
  assert.deepEqual(
    rows.map((r) => r.params),
    expected.map((t) => t.params),
  );
  const runs = await d.db.pool.query<{ trial_id: string; n: number }>(
    'SELECT trial_id, count(*)::int AS n FROM runs WHERE sweep_id = $1 GROUP BY trial_id',
    [id],
  );
  assert.equal(runs.rows.length, 12);
  assert.ok(runs.rows.every((r) => r.n === 1));
  // Each trial's process ran exactly once.
  const started = readFileSync(trialLog, 'utf8').trim().split('\n').sort();
  assert.deepEqual(started, rows.map((r) => `kills-${r.number}`).sort());
});

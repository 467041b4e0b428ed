// PlatformLogger against a real API process on real Postgres.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PlatformLogger, platformLoggerFromEnv } from '../src/loggers/platform.js';
import { apiGet, type ServedApi, SwitchableProxy, serveApi } from './platform-support.js';

let api: ServedApi;
let proxy: SwitchableProxy;
const spool = mkdtempSync(join(tmpdir(), 'kiln-spool-'));

before(async () => {
  api = await serveApi();
  proxy = await new SwitchableProxy(new URL(api.url)).start();
});
after(async () => {
  await proxy.close();
  await api.stop();
  rmSync(spool, { recursive: true, force: true });
});

async function newRun(name: string): Promise<{ id: string; token: string }> {
  const res = await fetch(`${api.url}/api/v1/projects/${api.projectId}/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.projectToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, issueToken: true }),
  });
  return (await res.json()) as { id: string; token: string };
}

interface Series {
  total: number;
  points: { step: number; value: number }[];
}
const series = (runId: string, key: string) =>
  apiGet<Series>(
    api,
    api.projectToken,
    `/api/v1/runs/${runId}/metrics/series?key=${encodeURIComponent(key)}&maxPoints=100000`,
  );

test('metrics, hyperparameters, checkpoints, progress and the final status reach the API', async () => {
  const run = await newRun('basic');
  const logger = new PlatformLogger({
    url: api.url,
    token: run.token,
    runId: run.id,
    spoolDir: spool,
    batchSize: 300,
    flushIntervalMs: 50,
    progressIntervalMs: 0,
  });
  logger.logHyperparams({ lr: 0.01, layers: [64, 32], nested: { a: 1 } });
  for (let step = 0; step < 1000; step++)
    logger.logMetrics({ 'train/loss': 1 / (step + 1), 'train/acc': step / 1000 }, step);
  logger.logMetrics({ 'train/loss': Number.NaN }, 1000); // dropped, not fatal
  logger.logCheckpoint({
    path: '/ckpt/epoch=0.ckpt',
    step: 999,
    epoch: 0,
    sizeBytes: 1234,
    sha256: 'c'.repeat(64),
    metrics: { 'val/loss': 0.5 },
    isBest: true,
    isLast: true,
  });
  logger.logProgress({
    step: 999,
    totalSteps: 2000,
    epoch: 0,
    etaSeconds: 12.5,
    metrics: { 'train/loss': 0.001 },
  });
  await logger.finalize('success');
  assert.equal(logger.pending, 0);
  assert.equal(logger.rejected.length, 0);

  const loss = await series(run.id, 'train/loss');
  assert.equal(loss.total, 1000);
  assert.equal(loss.points[999]?.value, 1 / 1000);
  assert.equal((await series(run.id, 'train/acc')).total, 1000);
  const r = await apiGet<{
    status: string;
    hyperparams: unknown;
    progress: { step: number; totalSteps: number; etaSeconds: number; percent: number };
  }>(api, api.projectToken, `/api/v1/runs/${run.id}`);
  assert.equal(r.status, 'succeeded');
  assert.deepEqual(r.hyperparams, { lr: 0.01, layers: [64, 32], nested: { a: 1 } });
  assert.deepEqual([r.progress.step, r.progress.totalSteps, r.progress.etaSeconds], [999, 2000, 12.5]);
  const ck = await apiGet<{ path: string; isBest: boolean; sha256: string }[]>(
    api,
    api.projectToken,
    `/api/v1/runs/${run.id}/checkpoints`,
  );
  assert.deepEqual(
    ck.map((c) => [c.path, c.isBest]),
    [['/ckpt/epoch=0.ckpt', true]],
  );
  // Everything acknowledged: the journal is empty.
  assert.equal(readFileSync(join(spool, `${run.id}.journal`), 'utf8'), '');
});

test('while the API is unreachable points are spooled, then replayed in order, each stored once', async () => {
  const run = await newRun('outage');
  const logger = new PlatformLogger({
    url: proxy.url,
    token: run.token,
    runId: run.id,
    spoolDir: spool,
    batchSize: 100,
    flushIntervalMs: 20,
    retryDelayMs: 20,
    maxRetryDelayMs: 200,
  });
  for (let step = 0; step < 500; step++) logger.logMetrics({ loss: step }, step);
  assert.ok(await logger.flush(5000));
  proxy.down();
  for (let step = 500; step < 1500; step++) logger.logMetrics({ loss: step }, step);
  assert.equal(await logger.flush(500), false, 'nothing can be sent while the API is down');
  assert.ok(logger.retries > 0);
  const journal = readFileSync(join(spool, `${run.id}.journal`), 'utf8');
  const spooled = journal
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => (JSON.parse(l).body?.series ?? []) as { steps: number[] }[])
    .flatMap((x) => x.steps);
  assert.ok(spooled.includes(1499), 'the spooled points are on disk');
  assert.equal((await series(run.id, 'loss')).total, 500);
  proxy.up();
  await logger.finalize('success');
  const s = await series(run.id, 'loss');
  assert.equal(s.total, 1500);
  assert.deepEqual(
    s.points.map((p) => p.step),
    Array.from({ length: 1500 }, (_, i) => i),
  );
  assert.ok(s.points.every((p) => p.value === p.step));
});

test('a process that dies with unsent points leaves them in the journal; the next logger for the run sends them', async () => {
  const run = await newRun('crash');
  proxy.down();
  // A child process logs 2,000 points against the dead API, then exits without finalize.
  const script = `
    const { PlatformLogger } = await import(${JSON.stringify(fileURLToPath(new URL('../src/loggers/platform.ts', import.meta.url)))});
    const l = new PlatformLogger({ url: ${JSON.stringify(proxy.url)}, token: ${JSON.stringify(run.token)}, runId: ${JSON.stringify(run.id)}, spoolDir: ${JSON.stringify(spool)}, batchSize: 250, flushIntervalMs: 10, retryDelayMs: 10, warn() {} });
    for (let step = 0; step < 2000; step++) l.logMetrics({ 'train/loss': step * 2 }, step);
    await l.flush(300);
    process.exit(0);`;
  const child = spawnSync(
    process.execPath,
    [
      '--conditions=kiln-src',
      '--import',
      '@swc-node/register/esm-register',
      '--input-type=module',
      '-e',
      script,
    ],
    {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      encoding: 'utf8',
    },
  );
  assert.equal(child.status, 0, child.stderr);
  proxy.up();
  assert.equal((await series(run.id, 'train/loss')).total, 0);
  const next = new PlatformLogger({
    url: proxy.url,
    token: run.token,
    runId: run.id,
    spoolDir: spool,
    retryDelayMs: 10,
  });
  assert.equal(next.pending, 8, 'eight batches of 250 waiting in the journal');
  await next.finalize('success');
  const s = await series(run.id, 'train/loss');
  assert.equal(s.total, 2000);
  assert.ok(s.points.every((p) => p.value === p.step * 2));
});

test('without a run id the logger creates the run in the project (kiln fit --track) and writes with its run token', async () => {
  const logger = new PlatformLogger({
    url: api.url,
    token: api.projectToken,
    project: api.projectId,
    runName: 'local-track',
    spoolDir: spool,
  });
  for (let step = 0; step < 10; step++) logger.logMetrics({ loss: step }, step);
  await logger.finalize('failed');
  assert.ok(logger.run);
  const r = await apiGet<{ name: string; status: string }>(
    api,
    api.projectToken,
    `/api/v1/runs/${logger.run}`,
  );
  assert.deepEqual([r.name, r.status], ['local-track', 'failed']);
  assert.equal((await series(logger.run!, 'loss')).total, 10);
});

test('a request the API refuses for good is reported and does not block the ones after it', async () => {
  const run = await newRun('refused');
  const warnings: string[] = [];
  const logger = new PlatformLogger({
    url: api.url,
    token: run.token,
    runId: run.id,
    spoolDir: spool,
    warn: (m) => warnings.push(m),
  });
  logger.logCheckpoint({
    path: '/x',
    step: 1,
    epoch: 0,
    sizeBytes: 1,
    sha256: 'not-a-hash',
    metrics: {},
    isBest: false,
    isLast: false,
  });
  logger.logMetrics({ loss: 1 }, 1);
  await logger.finalize('success');
  assert.equal(logger.rejected.length, 1);
  assert.equal(logger.rejected[0]?.status, 400);
  assert.match(warnings.join('\n'), /sha256/);
  assert.equal((await series(run.id, 'loss')).total, 1);
});

test('platformLoggerFromEnv: off without KILN_TRACKING_URL, clear errors when half configured', () => {
  assert.equal(platformLoggerFromEnv({}), undefined);
  assert.throws(() => platformLoggerFromEnv({ KILN_TRACKING_URL: 'http://x' }), /KILN_TRACKING_TOKEN/);
  assert.throws(
    () => platformLoggerFromEnv({ KILN_TRACKING_URL: 'http://x', KILN_TRACKING_TOKEN: 't' }),
    /KILN_RUN_ID nor KILN_PROJECT/,
  );
  const l = platformLoggerFromEnv({
    KILN_TRACKING_URL: 'http://x/',
    KILN_TRACKING_TOKEN: 't',
    KILN_RUN_ID: 'r',
    KILN_CHECKPOINT_DIR: spool,
  });
  assert.equal(l?.run, 'r');
});

test('a Trainer run with KILN_TRACKING_URL set is recorded by the platform without naming a logger', async () => {
  const { Trainer } = await import('../src/index.js');
  const { TinyData, TinyRegressor } = await import('./fixtures/tiny.js');
  const env = {
    KILN_TRACKING_URL: api.url,
    KILN_TRACKING_TOKEN: api.projectToken,
    KILN_PROJECT: api.projectId,
    KILN_JOB: 'trainer-from-env',
  };
  Object.assign(process.env, env);
  try {
    const root = mkdtempSync(join(tmpdir(), 'kiln-env-run-'));
    const trainer = new Trainer({
      backend: 'cpu',
      maxSteps: 6,
      logEveryNSteps: 1,
      enableProgressBar: false,
      enableModelSummary: false,
      enableCheckpointing: false,
      logger: false,
      defaultRootDir: root,
    });
    assert.deepEqual(
      trainer.loggers.map((l) => l.name),
      ['platform'],
    );
    await trainer.fit(new TinyRegressor(), new TinyData());
    const platform = trainer.loggers[0] as PlatformLogger;
    assert.ok(platform.run, 'the logger created the run');
    const r = await apiGet<{ name: string; status: string }>(
      api,
      api.projectToken,
      `/api/v1/runs/${platform.run}`,
    );
    assert.deepEqual([r.name, r.status], ['trainer-from-env', 'succeeded']);
    const keys = await apiGet<{ key: string; count: number }[]>(
      api,
      api.projectToken,
      `/api/v1/runs/${platform.run}/metrics/keys`,
    );
    assert.ok(
      keys.some((k) => k.key.startsWith('train/loss') && k.count >= 6),
      `a train/loss series with a point per step, got ${JSON.stringify(keys)}`,
    );
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
  }
});

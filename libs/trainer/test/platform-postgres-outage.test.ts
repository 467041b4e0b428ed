// Postgres goes down in the middle of a run that pushes metrics through the PlatformLogger, and comes
// back: every point is stored exactly once. Uses a Postgres cluster of its own (initdb into a temp
// folder, a free port), so stopping it disturbs no other test.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PlatformLogger } from '../src/loggers/platform.js';
import { apiGet, type ServedApi, serveApi } from './platform-support.js';

function pgBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const v = versions.find((x) => existsSync(join(root, x, 'bin', 'initdb')));
  if (!v)
    throw new Error('no Postgres server binaries (initdb) found; run scripts/services.sh up or set PG_BIN');
  return join(root, v, 'bin');
}

/** Postgres refuses to run as root: run its tools as the postgres user then. */
function pg(tool: string, args: string[]) {
  const bin = join(pgBin(), tool);
  const asRoot = process.getuid?.() === 0;
  execFileSync(asRoot ? 'runuser' : bin, asRoot ? ['-u', 'postgres', '--', bin, ...args] : args, {
    stdio: 'pipe',
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

const dir = mkdtempSync(join(tmpdir(), 'kiln-pg-'));
const data = join(dir, 'data');
const spool = join(dir, 'spool');
let port = 0;
let api: ServedApi;
const start = () =>
  pg('pg_ctl', [
    '-D',
    data,
    '-w',
    '-l',
    join(dir, 'log'),
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
    'start',
  ]);
const stop = () => pg('pg_ctl', ['-D', data, '-w', '-m', 'fast', 'stop']);

before(async () => {
  if (process.getuid?.() === 0)
    chownSync(
      dir,
      Number(execFileSync('id', ['-u', 'postgres']).toString()),
      Number(execFileSync('id', ['-g', 'postgres']).toString()),
    );
  pg('initdb', ['-D', data, '-U', 'kiln', '-A', 'trust', '--no-sync']);
  port = await freePort();
  start();
  api = await serveApi({ DATABASE_URL: `postgresql://kiln@127.0.0.1:${port}/postgres` });
});

after(async () => {
  await api?.stop();
  try {
    stop();
  } catch {}
  rmSync(dir, { recursive: true, force: true });
});

test('stop Postgres during a run, start it again: every point arrives exactly once', async () => {
  const logger = new PlatformLogger({
    url: api.url,
    token: api.runToken,
    runId: api.runId,
    spoolDir: spool,
    batchSize: 500,
    flushIntervalMs: 50,
    retryDelayMs: 50,
    maxRetryDelayMs: 500,
    warn() {},
  });
  const steps = 20_000;
  const value = (key: number, step: number) => Math.sin(step / 100) * (key + 1);
  let outageSeen = false;
  for (let step = 0; step < steps; step++) {
    logger.logMetrics({ 'train/loss': value(0, step), 'train/acc': value(1, step) }, step);
    if (step % 500 === 499) await new Promise((r) => setTimeout(r, 10)); // a training loop's pace
    if (step === 6000) {
      assert.ok(await logger.flush(30_000), 'before the outage everything is sent');
      stop();
    }
    if (step === 14_000) {
      // Down for a while: the API answers 503 and the logger keeps spooling and retrying.
      assert.equal(await logger.flush(1500), false);
      outageSeen = logger.retries > 0;
      start();
    }
  }
  await logger.finalize('success');
  assert.ok(outageSeen, 'the logger saw the outage and retried');
  assert.equal(logger.pending, 0);
  assert.equal(logger.rejected.length, 0, JSON.stringify(logger.rejected[0]?.message));
  for (const [i, key] of ['train/loss', 'train/acc'].entries()) {
    const s = await apiGet<{ total: number; points: { step: number; value: number }[] }>(
      api,
      api.projectToken,
      `/api/v1/runs/${api.runId}/metrics/series?key=${encodeURIComponent(key)}&maxPoints=100000`,
    );
    assert.equal(s.total, steps, `${key}: ${s.total} points stored`);
    assert.equal(s.points.length, steps);
    for (let step = 0; step < steps; step++) {
      const p = s.points[step]!;
      assert.equal(p.step, step);
      assert.equal(p.value, value(i, step));
    }
  }
  const run = await apiGet<{ status: string }>(api, api.projectToken, `/api/v1/runs/${api.runId}`);
  assert.equal(run.status, 'succeeded');
});

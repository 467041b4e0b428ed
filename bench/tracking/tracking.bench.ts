// Tracking benchmark: prints figures and ratios against baselines measured in the same run; never asserts.
//   1. sustained metric ingest through the HTTP API (a separate API process, keep-alive connections,
//      several requests in flight) into Postgres, beside the same points written straight to Postgres
//      by the write path the API uses (COPY + merge) and by a multi-row unnest insert;
//   2. latency of the downsampled query (1M-point series → 1,000 points), through HTTP and direct,
//      beside the undownsampled read of the whole series and a one-pass M4 scan without rollups.
// Run: node --conditions=kiln-src --import @swc-node/register/esm-register bench/tracking/tracking.bench.ts
// Knobs: BENCH_POINTS (default 1,000,000), BENCH_BATCH (10,000), BENCH_CONCURRENCY (4), BENCH_REPEATS (7).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  createDb,
  type PointColumns,
  querySeries,
  resolveSeriesIds,
  writePointsCopy,
  writePointsUnnest,
} from '@kiln/db';

const root = new URL('../../', import.meta.url).pathname;
const POINTS = Number(process.env.BENCH_POINTS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 7);
const KEYS = ['train/loss', 'train/acc', 'lr', 'grad_norm'];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

// The API in its own process, as deployed (serve.ts: fresh database, one project, one run).
const child = spawn(
  process.execPath,
  ['--conditions=kiln-src', '--import', '@swc-node/register/esm-register', 'apps/api/test/support/serve.ts'],
  { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'inherit'] },
);
const info = JSON.parse(
  await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)),
) as {
  url: string;
  databaseUrl: string;
  projectId: string;
  projectToken: string;
  runId: string;
  runToken: string;
};
const db = createDb(info.databaseUrl, 8);

async function newRun(name: string): Promise<{ id: string; token: string }> {
  const res = await fetch(`${info.url}/api/v1/projects/${info.projectId}/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${info.projectToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, issueToken: true }),
  });
  return (await res.json()) as { id: string; token: string };
}

/**
 * Points of one run: KEYS.length series, steps 0.., as ingest request bodies of BATCH points each, as
 * rows ({points: [{key, step, value, time}]}) or columns per key ({series: [{key, steps, values, times}]}).
 */
function bodies(total: number, form: 'rows' | 'columns'): string[] {
  const out: string[] = [];
  const now = Date.now();
  for (let start = 0; start < total; start += BATCH) {
    const points: { key: string; step: number; value: number; time: number }[] = [];
    for (let i = start; i < Math.min(total, start + BATCH); i++) {
      const step = Math.floor(i / KEYS.length);
      points.push({
        key: KEYS[i % KEYS.length]!,
        step,
        value: Math.sin(step / 1000) + (i % 7) / 100,
        time: now + step,
      });
    }
    if (form === 'rows') out.push(JSON.stringify({ points }));
    else {
      const series = KEYS.map((key) => {
        const mine = points.filter((p) => p.key === key);
        return {
          key,
          steps: mine.map((p) => p.step),
          values: mine.map((p) => p.value),
          times: mine.map((p) => p.time),
        };
      });
      out.push(JSON.stringify({ series }));
    }
  }
  return out;
}

async function httpIngest(label: string, form: 'rows' | 'columns'): Promise<number> {
  const run = await newRun(label);
  const all = bodies(POINTS, form);
  const url = `${info.url}/api/v1/runs/${run.id}/metrics`;
  let next = 0;
  let inserted = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < all.length) {
        const body = all[next++]!;
        // Node's fetch keeps connections alive: CONCURRENCY workers reuse CONCURRENCY sockets.
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${run.token}`, 'content-type': 'application/json' },
          body,
        });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`ingest: HTTP ${res.status} ${text}`);
        inserted += (JSON.parse(text) as { inserted: number }).inserted;
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  if (inserted !== POINTS) throw new Error(`expected ${POINTS} points stored, got ${inserted}`);
  return POINTS / s;
}

async function directIngest(label: string, write: typeof writePointsCopy): Promise<number> {
  const run = await newRun(label);
  const ids = await resolveSeriesIds(db.pool, run.id, KEYS);
  const batches: PointColumns[] = [];
  const now = Date.now();
  for (let start = 0; start < POINTS; start += BATCH) {
    const c: PointColumns = { seriesIds: [], steps: [], values: [], times: [] };
    for (let i = start; i < Math.min(POINTS, start + BATCH); i++) {
      const step = Math.floor(i / KEYS.length);
      c.seriesIds.push(ids.get(KEYS[i % KEYS.length]!)!);
      c.steps.push(step);
      c.values.push(Math.sin(step / 1000) + (i % 7) / 100);
      c.times.push(now + step);
    }
    batches.push(c);
  }
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < batches.length) await write(db.pool, batches[next++]!);
    }),
  );
  return POINTS / ((performance.now() - t0) / 1000);
}

console.log(
  `# tracking benchmark: ${fmt(POINTS)} points per measurement, ${KEYS.length} keys, batch ${fmt(BATCH)} points, ${CONCURRENCY} in flight`,
);
console.log('\n## ingest (points/s, higher is better)');
const copy = await directIngest('direct-copy', writePointsCopy);
console.log(`baseline  direct COPY + merge, no HTTP:        ${fmt(copy)} points/s`);
const unnest = await directIngest('direct-unnest', writePointsUnnest);
console.log(
  `baseline  direct unnest insert, no HTTP:       ${fmt(unnest)} points/s  (${(unnest / copy).toFixed(2)}× COPY)`,
);
const rows = await httpIngest('http-rows', 'rows');
console.log(
  `measured  HTTP API, JSON rows, batch ${fmt(BATCH)}:    ${fmt(rows)} points/s  (${(rows / copy).toFixed(2)}× direct COPY; goal ≥ 100,000)`,
);
const cols = await httpIngest('http-columns', 'columns');
console.log(
  `measured  HTTP API, JSON columns, batch ${fmt(BATCH)}: ${fmt(cols)} points/s  (${(cols / copy).toFixed(2)}× direct COPY; the PlatformLogger's form)`,
);

console.log('\n## downsampled query: 1M-point series → 1,000 points (ms, lower is better)');
// The series of the HTTP run with the most points: train/loss of the 'http' run has POINTS/4 points,
// so a dedicated 1M-point series is written directly for this part.
const big = await newRun('query');
const sid = (await resolveSeriesIds(db.pool, big.id, ['loss'])).get('loss')!;
const N = 1_000_000;
for (let start = 0; start < N; start += 100_000) {
  const c: PointColumns = { seriesIds: [], steps: [], values: [], times: [] };
  for (let s = start; s < start + 100_000; s++) {
    c.seriesIds.push(sid);
    c.steps.push(s);
    c.values.push(Math.sin(s / 5000) + (s % 101) / 1000);
    c.times.push(s);
  }
  await writePointsCopy(db.pool, c);
}
await db.pool.query('VACUUM ANALYZE metric_points');
await db.pool.query('VACUUM ANALYZE metric_rollups');

async function time(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm
  const xs: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    await fn();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}
const direct = await time(() => querySeries(db.pool, sid, { maxPoints: 1000 }));
const viaHttp = await time(async () => {
  const res = await fetch(`${info.url}/api/v1/runs/${big.id}/metrics/series?key=loss&maxPoints=1000`, {
    headers: { authorization: `Bearer ${big.token}` },
  });
  const body = (await res.json()) as { points: unknown[]; total: number };
  if (body.points.length > 1000 || body.total !== N) throw new Error('unexpected series answer');
});
const full = await time(() =>
  db.pool.query('SELECT step, value FROM metric_points WHERE series_id = $1 ORDER BY step', [sid]),
);
const scan = await time(() =>
  db.pool.query(
    `SELECT (step * 250 / ${N})::int4 AS b, min(step), max(step), min(value), max(value)
     FROM metric_points WHERE series_id = $1 GROUP BY 1`,
    [sid],
  ),
);
console.log(`baseline  undownsampled read of all ${fmt(N)} points: ${full.toFixed(1)} ms`);
console.log(`baseline  one-pass M4 scan of the points (no rollups): ${scan.toFixed(1)} ms`);
console.log(
  `measured  downsampled query, direct (rollups):      ${direct.toFixed(1)} ms  (${(full / direct).toFixed(1)}× faster than the full read, ${(scan / direct).toFixed(1)}× than the scan)`,
);
console.log(`measured  downsampled query through HTTP:           ${viaHttp.toFixed(1)} ms  (goal ≤ 100 ms)`);
const load = (await import('node:os')).loadavg()[0]!;
console.log(
  `\nload average during the run: ${load.toFixed(1)} on ${(await import('node:os')).cpus().length} CPUs (shared machine: figures vary with it)`,
);

await db.close();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));

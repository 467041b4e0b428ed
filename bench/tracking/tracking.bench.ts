// Tracking benchmark: prints figures and ratios against baselines measured in the same run; never asserts.
//   1. sustained metric ingest through the HTTP API (a separate API process, keep-alive connections,
//      several requests in flight) into Postgres, beside the same points written straight to Postgres
//      by the write path the API uses (writePoints: binary COPY into metric_points, rollups from Node),
//      by the previous one (staged COPY + SQL merge, the baseline) and by a multi-row unnest insert.
//      Each line also gives CPU time per point, of Postgres (this database's backends) and of Node (the
//      API process for HTTP, this process for direct): on a shared machine CPU time barely moves with
//      the load, and 2 cores / (CPU µs per point) is the rate the machine could sustain if idle;
//   2. latency of the downsampled query (1M-point series → 1,000 points), through HTTP and direct,
//      beside the undownsampled read of the whole series and a one-pass M4 scan without rollups.
// Run: node --conditions=kiln-src --import @swc-node/register/esm-register bench/tracking/tracking.bench.ts
// Knobs: BENCH_POINTS (default 1,000,000), BENCH_BATCH (10,000), BENCH_CONCURRENCY (4), BENCH_REPEATS (7).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import {
  createDb,
  type PointColumns,
  querySeries,
  resolveSeriesIds,
  writePoints,
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
const dbName = new URL(info.databaseUrl).pathname.slice(1);

/** CPU seconds (user + system) of a process, from /proc (clock ticks of 1/100 s on Linux). */
function procCpu(pid: number | string): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0; // exited
  }
}
/**
 * CPU seconds per Postgres backend serving this benchmark's database (their titles name it), by pid:
 * pools close idle connections, so a delta counts only processes alive at its end (an idle one that
 * exits takes no work of the window with it).
 */
function postgresCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmd.startsWith('postgres') && cmd.includes(` ${dbName} `)) out.set(pid, procCpu(pid));
  }
  return out;
}
function postgresCpuSince(start: Map<string, number>): number {
  let t = 0;
  for (const [pid, cpu] of postgresCpu()) t += cpu - (start.get(pid) ?? 0);
  return t;
}
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
/** Runs fn and returns points/s plus CPU µs per point of Postgres and of the given Node process. */
async function measured(fn: () => Promise<void>, node: () => number) {
  const pg0 = postgresCpu();
  const n0 = node();
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  const pgUs = (postgresCpuSince(pg0) / POINTS) * 1e6;
  const nodeUs = ((node() - n0) / POINTS) * 1e6;
  return { rate: POINTS / s, pgUs, nodeUs };
}
type Measured = Awaited<ReturnType<typeof measured>>;
const cpuNote = (m: Measured) =>
  `CPU µs/point: Postgres ${m.pgUs.toFixed(2)}, Node ${m.nodeUs.toFixed(2)}; idle-machine capacity ${fmt(
    (cpus().length / (m.pgUs + m.nodeUs)) * 1e6,
  )}/s`;

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

async function httpIngest(label: string, form: 'rows' | 'columns'): Promise<Measured> {
  const run = await newRun(label);
  const all = bodies(POINTS, form);
  const url = `${info.url}/api/v1/runs/${run.id}/metrics`;
  let next = 0;
  let inserted = 0;
  const m = await measured(
    async () => {
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
    },
    () => procCpu(child.pid!),
  );
  if (inserted !== POINTS) throw new Error(`expected ${POINTS} points stored, got ${inserted}`);
  return m;
}

async function directIngest(label: string, write: typeof writePointsCopy): Promise<Measured> {
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
  return measured(async () => {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < batches.length) await write(db.pool, batches[next++]!);
      }),
    );
  }, selfCpu);
}

console.log(
  `# tracking benchmark: ${fmt(POINTS)} points per measurement, ${KEYS.length} keys, batch ${fmt(BATCH)} points, ${CONCURRENCY} in flight`,
);
const loadStart = loadavg()[0]!;
console.log('\n## ingest (points/s, higher is better)');
const copy = await directIngest('direct-copy', writePointsCopy);
console.log(
  `baseline  direct staged COPY + SQL merge, no HTTP: ${fmt(copy.rate)} points/s  ${cpuNote(copy)}`,
);
const unnest = await directIngest('direct-unnest', writePointsUnnest);
console.log(
  `baseline  direct unnest insert, no HTTP:         ${fmt(unnest.rate)} points/s  (${(unnest.rate / copy.rate).toFixed(2)}× staged)  ${cpuNote(unnest)}`,
);
const direct = await directIngest('direct-append', writePoints);
console.log(
  `measured  direct writePoints (API's path), no HTTP: ${fmt(direct.rate)} points/s  (${(direct.rate / copy.rate).toFixed(2)}× staged)  ${cpuNote(direct)}`,
);
const rows = await httpIngest('http-rows', 'rows');
console.log(
  `measured  HTTP API, JSON rows, batch ${fmt(BATCH)}:    ${fmt(rows.rate)} points/s  (${(rows.rate / copy.rate).toFixed(2)}× staged direct; goal ≥ 100,000)  ${cpuNote(rows)}`,
);
const cols = await httpIngest('http-columns', 'columns');
console.log(
  `measured  HTTP API, JSON columns, batch ${fmt(BATCH)}: ${fmt(cols.rate)} points/s  (${(cols.rate / copy.rate).toFixed(2)}× staged direct; goal ≥ 100,000; the PlatformLogger's form)  ${cpuNote(cols)}`,
);
const best = Math.max(rows.rate, cols.rate);
console.log(
  `verdict   ingest through HTTP: ${best >= 100_000 ? 'MEETS' : 'MISSES'} the ≥ 100,000 points/s goal (${fmt(best)} points/s at load ${loadStart.toFixed(1)})`,
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
const directQuery = await time(() => querySeries(db.pool, sid, { maxPoints: 1000 }));
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
  `measured  downsampled query, direct (rollups):      ${directQuery.toFixed(1)} ms  (${(full / directQuery).toFixed(1)}× faster than the full read, ${(scan / directQuery).toFixed(1)}× than the scan)`,
);
console.log(`measured  downsampled query through HTTP:           ${viaHttp.toFixed(1)} ms  (goal ≤ 100 ms)`);
console.log(
  `verdict   downsampled query through HTTP: ${viaHttp <= 100 ? 'MEETS' : 'MISSES'} the ≤ 100 ms goal (${viaHttp.toFixed(1)} ms)`,
);
console.log(
  `\nload average (1 min): ${loadStart.toFixed(1)} at the start of ingest, ${loadavg()[0]!.toFixed(1)} at the end, on ${cpus().length} CPUs (shared machine: rates vary with it, CPU µs/point far less)`,
);

await db.close();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));

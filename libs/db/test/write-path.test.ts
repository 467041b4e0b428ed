// The direct write path (binary COPY into metric_points, M4 summaries computed in Node) against the
// staged SQL merge it stands in for: the same rows and the same rollups for the same points, repeats
// dropped, concurrent copies of one batch stored once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  createDb,
  createTestDatabase,
  type Db,
  type PointColumns,
  resolveSeriesIds,
  type TestDatabase,
  writePoints,
  writePointsCopy,
} from '../src/index.js';

let tdb: TestDatabase;
let db: Db;
let runId: string;

before(async () => {
  tdb = await createTestDatabase('write_path');
  db = createDb(tdb.url, 8);
  const p = await db.prisma.project.create({ data: { name: 'write-path', namespace: 'team-w' } });
  runId = (await db.prisma.run.create({ data: { projectId: p.id, name: 'r1' } })).id;
});
after(async () => {
  await db.close();
  await tdb.drop();
});

async function seriesIds(...keys: string[]): Promise<number[]> {
  const ids = await resolveSeriesIds(db.pool, runId, keys);
  return keys.map((k) => ids.get(k)!);
}

/** A seeded generator, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const stored = async (id: number) =>
  (
    await db.pool.query<{ step: number; value: number; time: number }>(
      `SELECT step, value, (extract(epoch FROM wall_time) * 1000)::float8 AS time
       FROM metric_points WHERE series_id = $1 ORDER BY step`,
      [id],
    )
  ).rows;

// -0 reads as 0: node-postgres writes array parameters as text, where -0 is "0". Harmless: rollups only
// choose which steps a downsampled query returns, and Postgres orders -0 and 0 as equal.
const rollups = async (id: number) =>
  (
    await db.pool.query(
      `SELECT shift, bucket, n, first, last, low, high FROM metric_rollups WHERE series_id = $1
       ORDER BY shift, bucket`,
      [id],
    )
  ).rows.map((r) => {
    for (const k of ['first', 'last', 'low', 'high']) r[k] = r[k].map((v: number) => (v === 0 ? 0 : v));
    return r;
  });

function relabel(p: PointColumns, from: number[], to: number[]): PointColumns {
  return { ...p, seriesIds: p.seriesIds.map((s) => to[from.indexOf(s)]!) };
}

test('the direct path stores exactly what the staged merge stores: edge values, big steps, odd times', async () => {
  const [a, b] = await seriesIds('exact/direct', 'exact/merge');
  const steps = [0, 1, 63, 64, 2 ** 31 - 1, 2 ** 31, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER];
  const values = [-0, 1e-310, -1.5, 1e300, -1e300, Math.PI, 2 ** 53 + 2, 0.1];
  // Fractions of a millisecond, before 2000 (negative on Postgres' own epoch), far future.
  const times = [1_700_000_000_000.4, 1_700_000_000_000.6, 0, 946_684_799_999, 8.64e15, 1.5, 2.5e12, 1e15];
  const batch: PointColumns = { seriesIds: steps.map(() => a!), steps, values, times };
  assert.equal(await writePoints(db.pool, batch), steps.length);
  assert.equal(await writePointsCopy(db.pool, relabel(batch, [a!], [b!])), steps.length);
  const direct = await stored(a!);
  assert.deepEqual(direct, await stored(b!));
  assert.deepEqual(
    direct.map((r) => r.step),
    steps,
  );
  assert.deepEqual(
    direct.map((r) => r.value),
    values,
  );
  // timestamptz(3) keeps whole milliseconds, halves rounded away from 2000-01-01 (Postgres' epoch).
  assert.deepEqual(
    direct.map((r) => r.time),
    [1_700_000_000_000, 1_700_000_000_001, 0, 946_684_799_999, 8.64e15, 1, 2.5e12, 1e15],
  );
  assert.deepEqual(await rollups(a!), await rollups(b!));
});

test('rollups of batches written directly equal those of the SQL merge, for any batching and order', async () => {
  const keys = ['roll/d1', 'roll/d2', 'roll/m1', 'roll/m2'];
  const [d1, d2, m1, m2] = await seriesIds(...keys);
  const rand = rng(42);
  // Two series, 40,000 steps each with gaps, values with repeats (ties) and spikes.
  const all: PointColumns = { seriesIds: [], steps: [], values: [], times: [] };
  for (const sid of [d1!, d2!]) {
    let step = Math.floor(rand() * 100);
    for (let i = 0; i < 40_000; i++) {
      step += 1 + (rand() < 0.1 ? Math.floor(rand() * 500) : 0);
      all.seriesIds.push(sid);
      all.steps.push(step);
      all.values.push(rand() < 0.01 ? (rand() - 0.5) * 1e9 : Math.round(rand() * 20) / 4);
      all.times.push(1_700_000_000_000 + step);
    }
  }
  // Direct: ascending batches of uneven size, points shuffled within each, both series mixed.
  let inserted = 0;
  for (let start = 0, i = 0; start < 40_000; i++) {
    const size = [1, 7, 1000, 4096, 9000][i % 5]!;
    const idx: number[] = [];
    for (let j = start; j < Math.min(40_000, start + size); j++) idx.push(j, 40_000 + j);
    for (let j = idx.length - 1; j > 0; j--) {
      const k = Math.floor(rand() * (j + 1));
      [idx[j], idx[k]] = [idx[k]!, idx[j]!];
    }
    inserted += await writePoints(db.pool, {
      seriesIds: idx.map((j) => all.seriesIds[j]!),
      steps: idx.map((j) => all.steps[j]!),
      values: idx.map((j) => all.values[j]!),
      times: idx.map((j) => all.times[j]!),
    });
    start += size;
  }
  assert.equal(inserted, 80_000);
  // Merge: the same points in one batch.
  assert.equal(await writePointsCopy(db.pool, relabel(all, [d1!, d2!], [m1!, m2!])), 80_000);
  for (const [d, m] of [
    [d1!, m1!],
    [d2!, m2!],
  ] as const) {
    const got = await rollups(d);
    assert.ok(got.length > 0);
    assert.deepEqual(got, await rollups(m));
    assert.deepEqual(await stored(d), await stored(m));
  }
});

test('repeats are dropped: a retried batch, an overlapping one, a step twice in one batch', async () => {
  const [id] = await seriesIds('dup/direct');
  const batch = (from: number, n: number): PointColumns => ({
    seriesIds: Array(n).fill(id),
    steps: Array.from({ length: n }, (_, i) => from + i),
    values: Array.from({ length: n }, (_, i) => from + i),
    times: Array(n).fill(1_700_000_000_000),
  });
  assert.equal(await writePoints(db.pool, batch(0, 1000)), 1000);
  assert.equal(await writePoints(db.pool, batch(0, 1000)), 0);
  // A run resumed from a checkpoint at step 800 logs 800.. again, then goes on.
  assert.equal(await writePoints(db.pool, batch(800, 700)), 500);
  const twice = batch(1500, 10);
  twice.seriesIds.push(id!);
  twice.steps.push(1505);
  twice.values.push(-1);
  twice.times.push(0);
  assert.equal(await writePoints(db.pool, twice), 10);
  const rows = await stored(id!);
  assert.equal(rows.length, 1510);
  assert.equal(rows.find((r) => r.step === 1505)?.value, 1505);
  const roll = await db.pool.query(
    'SELECT shift, sum(n)::int AS n FROM metric_rollups WHERE series_id = $1 GROUP BY shift ORDER BY shift',
    [id],
  );
  assert.deepEqual(
    roll.rows.map((r) => r.n),
    [1510, 1510, 1510],
  );
});

test('the same batch sent eight times at once is stored once', async () => {
  const [a, b] = await seriesIds('race/a', 'race/b');
  const n = 20_000;
  const batch: PointColumns = { seriesIds: [], steps: [], values: [], times: [] };
  for (let i = 0; i < n; i++) {
    batch.seriesIds.push(i % 2 ? a! : b!);
    batch.steps.push(Math.floor(i / 2));
    batch.values.push(Math.sin(i));
    batch.times.push(1_700_000_000_000 + i);
  }
  const counts = await Promise.all(Array.from({ length: 8 }, () => writePoints(db.pool, batch)));
  assert.equal(
    counts.reduce((x, y) => x + y, 0),
    n,
  );
  for (const id of [a!, b!]) {
    assert.equal((await stored(id)).length, n / 2);
    const roll = await db.pool.query(
      'SELECT shift, sum(n)::int AS n FROM metric_rollups WHERE series_id = $1 GROUP BY shift ORDER BY shift',
      [id],
    );
    assert.deepEqual(
      roll.rows.map((r) => r.n),
      [n / 2, n / 2, n / 2],
    );
  }
});

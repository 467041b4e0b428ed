import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import {
  createDb,
  createTestDatabase,
  type Db,
  type PointColumns,
  querySeries,
  resolveSeriesIds,
  type TestDatabase,
  writePointsCopy,
  writePointsUnnest,
} from '../src/index.js';

let tdb: TestDatabase;
let db: Db;
let runId: string;

before(async () => {
  tdb = await createTestDatabase('metrics');
  db = createDb(tdb.url, 4);
  const p = await db.prisma.project.create({ data: { name: 'metrics', namespace: 'team-m' } });
  runId = (await db.prisma.run.create({ data: { projectId: p.id, name: 'r1' } })).id;
});
after(async () => {
  await db.close();
  await tdb.drop();
});

function columns(seriesId: number, steps: number[], value: (step: number) => number): PointColumns {
  return {
    seriesIds: steps.map(() => seriesId),
    steps,
    values: steps.map(value),
    times: steps.map((s) => 1_700_000_000_000 + s),
  };
}

for (const [name, write] of [
  ['COPY + merge', writePointsCopy],
  ['unnest insert', writePointsUnnest],
] as const) {
  test(`${name}: a retried batch inserts nothing twice, and rollups count each point once`, async () => {
    const id = (await resolveSeriesIds(db.pool, runId, [`idem/${name}`])).get(`idem/${name}`)!;
    const steps = Array.from({ length: 5000 }, (_, i) => i * 3);
    const batch = columns(id, steps, (s) => s / 7);
    assert.equal(await write(db.pool, batch), 5000);
    assert.equal(await write(db.pool, batch), 0);
    // Overlapping batch: only the new half lands.
    const more = columns(
      id,
      steps.map((s) => s + 7500),
      (s) => s / 7,
    );
    assert.equal(await write(db.pool, more), 2500);
    const { rows } = await db.pool.query(
      'SELECT count(*)::int AS n FROM metric_points WHERE series_id = $1',
      [id],
    );
    assert.equal(rows[0].n, 7500);
    const roll = await db.pool.query(
      'SELECT shift, sum(n)::int AS n FROM metric_rollups WHERE series_id = $1 GROUP BY shift',
      [id],
    );
    assert.deepEqual(
      roll.rows.map((r) => r.n),
      [7500, 7500, 7500],
    );
  });
}

test('resolveSeriesIds returns the same ids on every call and creates missing keys', async () => {
  const a = await resolveSeriesIds(db.pool, runId, ['k/a', 'k/b']);
  const b = await resolveSeriesIds(db.pool, runId, ['k/b', 'k/c', 'k/a']);
  assert.equal(a.get('k/a'), b.get('k/a'));
  assert.equal(a.get('k/b'), b.get('k/b'));
  assert.equal(b.size, 3);
});

test('a 1M-point series downsampled to 1,000 points keeps the global min and max', async () => {
  const id = (await resolveSeriesIds(db.pool, runId, ['big'])).get('big')!;
  const n = 1_000_000;
  const spikeHi = 123_457;
  const spikeLo = 876_543;
  const value = (s: number) =>
    s === spikeHi ? 1e6 : s === spikeLo ? -1e6 : Math.sin(s / 5000) + (s % 97) / 1000;
  for (let start = 0; start < n; start += 250_000) {
    const steps = Array.from({ length: 250_000 }, (_, i) => start + i);
    await writePointsCopy(db.pool, columns(id, steps, value));
  }
  const r = await querySeries(db.pool, id, { maxPoints: 1000 });
  assert.equal(r.total, n);
  assert.ok(r.downsampled);
  assert.ok(r.points.length <= 1000 && r.points.length > 900, `got ${r.points.length} points`);
  const values = r.points.map((p) => p.value);
  assert.equal(Math.max(...values), 1e6);
  assert.equal(Math.min(...values), -1e6);
  assert.equal(r.points.find((p) => p.value === 1e6)?.step, spikeHi);
  assert.equal(r.points[0]?.step, 0);
  assert.equal(r.points.at(-1)?.step, n - 1);
  // Every point returned is a stored point, in step order.
  for (let i = 0; i < r.points.length; i++) {
    const p = r.points[i]!;
    assert.equal(p.value, value(p.step));
    assert.equal(p.time, 1_700_000_000_000 + p.step);
    if (i) assert.ok(p.step > r.points[i - 1]!.step);
  }
  // A zoomed range: bounds respected, range extremes kept, edges read exactly.
  const z = await querySeries(db.pool, id, { maxPoints: 200, fromStep: 100_001, toStep: 300_003 });
  assert.ok(z.points.length <= 200);
  assert.equal(z.total, 200_003);
  assert.equal(z.points[0]?.step, 100_001);
  assert.equal(z.points.at(-1)?.step, 300_003);
  assert.ok(z.points.some((p) => p.value === 1e6));
  for (const p of z.points)
    assert.deepEqual(p, { step: p.step, value: value(p.step), time: 1_700_000_000_000 + p.step });
  let lo = Number.POSITIVE_INFINITY;
  for (let s = 100_001; s <= 300_003; s++) if (s !== spikeHi) lo = Math.min(lo, value(s));
  assert.equal(Math.min(...z.points.map((p) => p.value)), lo);
});

test('small ranges and sparse series come back whole', async () => {
  const id = (await resolveSeriesIds(db.pool, runId, ['sparse'])).get('sparse')!;
  const steps = Array.from({ length: 300 }, (_, i) => i * 10_000);
  await writePointsUnnest(
    db.pool,
    columns(id, steps, (s) => s),
  );
  const r = await querySeries(db.pool, id, { maxPoints: 1000 });
  assert.equal(r.downsampled, false);
  assert.deepEqual(
    r.points.map((p) => p.step),
    steps,
  );
  assert.equal(r.points[1]?.time, 1_700_000_010_000);
  const none = await querySeries(db.pool, id, { maxPoints: 10, fromStep: 5, toStep: 9 });
  assert.deepEqual(none, { points: [], total: 0, downsampled: false });
});

test('rollups kept before they carried wall times gain them from their points (migration 20261203000000)', async () => {
  const id = (await resolveSeriesIds(db.pool, runId, ['old-rollups'])).get('old-rollups')!;
  const steps = Array.from({ length: 50_000 }, (_, i) => i);
  await writePointsCopy(
    db.pool,
    columns(id, steps, (s) => Math.cos(s / 300) + (s === 31_337 ? 50 : 0)),
  );
  const before = await querySeries(db.pool, id, { maxPoints: 400 });
  assert.ok(before.downsampled);
  // The shape rows had before: extremes as [step, value] pairs.
  await db.pool.query(
    'UPDATE metric_rollups SET first = first[1:2], last = last[1:2], low = low[1:2], high = high[1:2] WHERE series_id = $1',
    [id],
  );
  const sql = await readFile(
    new URL('../../../prisma/migrations/20261203000000_rollup_wall_time/migration.sql', import.meta.url),
    'utf8',
  );
  await db.pool.query(sql);
  assert.deepEqual(await querySeries(db.pool, id, { maxPoints: 400 }), before);
  assert.ok(before.points.some((p) => p.step === 31_337 && p.time === 1_700_000_031_337));
});

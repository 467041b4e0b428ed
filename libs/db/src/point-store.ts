// The point store: where logged values (metric points) are written and read. Prisma stays out of it
// (one statement per row, no COPY), so it uses the pg pool directly. Points travel as columns (parallel
// arrays), the cheapest shape to build and send.
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { encodePoints } from './copy-binary.js';
import { rollupShifts, summarize } from './rollups.js';

export { rollupShifts } from './rollups.js';

/** Points of any number of series, as parallel arrays of equal length. */
export interface PointColumns {
  seriesIds: number[];
  steps: number[];
  values: number[];
  /** Wall time, milliseconds since the epoch. */
  times: number[];
}

export interface SeriesPoint {
  step: number;
  value: number;
  /** Milliseconds since the epoch. */
  time: number;
}

/**
 * Ids of a run's series by key, creating the missing ones. Ids never change while the run exists, so
 * callers may cache them (see SeriesCache). Keys are inserted in sorted order (concurrent callers lock
 * them in the same order); a key another transaction inserted after this statement's snapshot is read
 * by a second statement, so every key comes back.
 */
export async function resolveSeriesIds(
  pool: pg.Pool | pg.PoolClient,
  runId: string,
  keys: string[],
): Promise<Map<string, number>> {
  const sorted = [...new Set(keys)].sort();
  const { rows } = await pool.query<{ id: number; key: string }>(
    `WITH ins AS (
       INSERT INTO metric_series (run_id, key) SELECT $1, k FROM unnest($2::text[]) AS k ORDER BY k
       ON CONFLICT (run_id, key) DO NOTHING RETURNING id, key)
     SELECT id, key FROM ins
     UNION ALL SELECT id, key FROM metric_series WHERE run_id = $1 AND key = ANY($2::text[])`,
    [runId, sorted],
  );
  const ids = new Map(rows.map((r) => [r.key, r.id]));
  const unseen = sorted.filter((k) => !ids.has(k));
  if (unseen.length) {
    const again = await pool.query<{ id: number; key: string }>(
      'SELECT id, key FROM metric_series WHERE run_id = $1 AND key = ANY($2::text[])',
      [runId, unseen],
    );
    for (const r of again.rows) ids.set(r.key, r.id);
  }
  return ids;
}

/** Series ids by run and key, kept for the life of the process (a run's ids never change). */
export class SeriesCache {
  private readonly byRun = new Map<string, Map<string, number>>();
  constructor(private readonly pool: pg.Pool) {}

  async ids(runId: string, keys: Iterable<string>): Promise<Map<string, number>> {
    let known = this.byRun.get(runId);
    if (!known) {
      known = new Map();
      this.byRun.set(runId, known);
    }
    const missing = [...new Set(keys)].filter((k) => !known.has(k));
    if (missing.length)
      for (const [k, id] of await resolveSeriesIds(this.pool, runId, missing)) known.set(k, id);
    return known;
  }

  /** Keys of `keys` not yet known for the run in this process (they may exist in the database). */
  unknown(runId: string, keys: Iterable<string>): string[] {
    const known = this.byRun.get(runId);
    return [...new Set(keys)].filter((k) => !known?.has(k));
  }

  forget(runId: string): void {
    this.byRun.delete(runId);
  }
}

// Staging rows carry wall time as epoch milliseconds: formatting a number is far cheaper in JS than an
// ISO timestamp, and Postgres converts the whole batch in one expression.
const stageDdl = `CREATE TEMP TABLE IF NOT EXISTS metric_points_stage
  (series_id int4, step int8, value float8, wall_ms float8) ON COMMIT DELETE ROWS`;

/** A point's wall time as epoch milliseconds, the one expression every read and rollup uses. */
const storedTime = '(extract(epoch FROM wall_time) * 1000)::float8';

/**
 * Inserts new points (ON CONFLICT DO NOTHING: a retried batch adds nothing) and folds exactly the rows
 * inserted into metric_rollups, level by level (each level from the one below). `source` yields
 * (series_id, step, value, wall_ms).
 */
function mergeSql(source: string): string {
  const [s0, s1, s2] = rollupShifts;
  const up = (from: string, shift: number, to: number) =>
    `SELECT series_id, ${to}::int2 AS shift, bucket >> ${to - shift} AS bucket, sum(n)::int8 AS n, min(first) AS first,
       max(last) AS last, min(low) AS low, max(high) AS high FROM ${from} GROUP BY 1, 2, 3`;
  return `WITH ins AS (
      INSERT INTO metric_points (series_id, step, value, wall_time)
      SELECT series_id, step, value, to_timestamp(wall_ms / 1000.0) FROM ${source} ORDER BY series_id, step
      ON CONFLICT (series_id, step) DO NOTHING RETURNING series_id, step, value, ${storedTime} AS ms),
    l0 AS (SELECT series_id, ${s0}::int2 AS shift, step >> ${s0} AS bucket, count(*)::int8 AS n,
             min(ARRAY[step::float8, value, ms]) AS first, max(ARRAY[step::float8, value, ms]) AS last,
             min(ARRAY[value, step::float8, ms]) AS low, max(ARRAY[value, -step::float8, ms]) AS high
           FROM ins GROUP BY 1, 2, 3),
    l1 AS (${up('l0', s0, s1)}),
    l2 AS (${up('l1', s1, s2)}),
    roll AS (
      INSERT INTO metric_rollups AS r (series_id, shift, bucket, n, first, last, low, high)
      SELECT * FROM (SELECT * FROM l0 UNION ALL SELECT * FROM l1 UNION ALL SELECT * FROM l2) l ORDER BY 1, 2, 3
      ON CONFLICT (series_id, shift, bucket) DO UPDATE SET n = r.n + EXCLUDED.n,
        first = LEAST(r.first, EXCLUDED.first), last = GREATEST(r.last, EXCLUDED.last),
        low = LEAST(r.low, EXCLUDED.low), high = GREATEST(r.high, EXCLUDED.high))
    SELECT count(*)::int8 AS inserted FROM ins`;
}
const mergeStage = mergeSql('metric_points_stage');
const mergeUnnest = mergeSql(
  'unnest($1::int4[], $2::int8[], $3::float8[], $4::float8[]) AS u(series_id, step, value, wall_ms)',
);

/**
 * Writes points with COPY (binary) into a session-temporary staging table, then merges them with
 * INSERT … ON CONFLICT DO NOTHING, all in one transaction: a retried batch inserts nothing twice.
 * Returns how many points were new. writePoints falls back to it for batches that repeat stored steps.
 */
export async function writePointsCopy(pool: pg.Pool, points: PointColumns): Promise<number> {
  if (points.seriesIds.length === 0) return 0;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(stageDdl);
    await pipeline(
      [encodePoints(points, 'ms')],
      client.query(copyFrom('COPY metric_points_stage FROM STDIN (FORMAT binary)')),
    );
    const { rows } = await client.query<{ inserted: number }>(mergeStage);
    await client.query('COMMIT');
    return rows[0]!.inserted;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

// The direct path's pieces. The newest stored step of each series the batch touches (one backward
// index probe per series): a batch whose steps all lie beyond it cannot repeat a stored point.
const newestSteps = `SELECT u.id, (SELECT step FROM metric_points WHERE series_id = u.id ORDER BY step DESC LIMIT 1) AS step
  FROM unnest($1::int4[]) AS u(id)`;
const copyPoints = 'COPY metric_points (series_id, step, value, wall_time) FROM STDIN (FORMAT binary)';
const upsertRollups = `INSERT INTO metric_rollups AS r (series_id, shift, bucket, n, first, last, low, high)
  SELECT s, h, b, n, ARRAY[f0, f1, f2], ARRAY[l0, l1, l2], ARRAY[w0, w1, w2], ARRAY[h0, h1, h2]
  FROM unnest($1::int4[], $2::int2[], $3::int8[], $4::int8[], $5::float8[], $6::float8[], $7::float8[],
              $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[],
              $14::float8[], $15::float8[], $16::float8[])
       AS u(s, h, b, n, f0, f1, f2, l0, l1, l2, w0, w1, w2, h0, h1, h2)
  ON CONFLICT (series_id, shift, bucket) DO UPDATE SET n = r.n + EXCLUDED.n,
    first = LEAST(r.first, EXCLUDED.first), last = GREATEST(r.last, EXCLUDED.last),
    low = LEAST(r.low, EXCLUDED.low), high = GREATEST(r.high, EXCLUDED.high)`;

/** Postgres errors after which the merge path is the right answer: a point already stored, a lock cycle. */
const retryWithMerge = new Set(['23505', '40P01']);

/** Per series in the batch: its smallest step; null when a value is not finite (the SQL path decides then). */
function batchMinSteps(p: PointColumns): Map<number, number> | null {
  const min = new Map<number, number>();
  for (let i = 0; i < p.seriesIds.length; i++) {
    if (!Number.isFinite(p.values[i]!)) return null;
    const sid = p.seriesIds[i]!;
    const m = min.get(sid);
    if (m === undefined || p.steps[i]! < m) min.set(sid, p.steps[i]!);
  }
  return min;
}

/**
 * One attempt of writePoints. Most batches only append (every step beyond what each series holds), and
 * for those a binary COPY straight into metric_points, plus the batch's M4 summaries computed in Node,
 * does what writePointsCopy does at a fraction of Postgres' work: no staging table, no per-row
 * ON CONFLICT check, no aggregation in SQL. The primary key still guards every point: a batch that
 * repeats a stored step (a retry, a resumed run re-logging steps), repeats a step within itself, or
 * races a concurrent copy of itself fails its COPY with a unique violation, and is then written by
 * writePointsCopy, which drops the repeats. Either way all in one transaction: committed whole or not
 * at all. Returns how many points were new.
 */
/**
 * Whether the batch is sparse: more than one level-0 rollup bucket per 8 points (steps logged far
 * apart). Summarizing such a batch in Node costs an object per point and would hold the event loop;
 * Postgres aggregates it in the merge instead. Points arrive grouped by series (inLockOrder).
 */
function sparse(p: PointColumns): boolean {
  const width = 2 ** rollupShifts[0];
  let buckets = 0;
  for (let i = 0, prevSid = Number.NaN, prevBucket = Number.NaN; i < p.seriesIds.length; i++) {
    const bucket = Math.floor(p.steps[i]! / width);
    if (p.seriesIds[i] !== prevSid || bucket !== prevBucket) buckets++;
    prevSid = p.seriesIds[i]!;
    prevBucket = bucket;
  }
  return buckets * 8 > p.seriesIds.length;
}

async function writePointsOnce(pool: pg.Pool, points: PointColumns): Promise<number> {
  const minSteps = batchMinSteps(points);
  if (!minSteps || (points.seriesIds.length > 1000 && sparse(points))) return writePointsCopy(pool, points);
  const client = await pool.connect();
  let appended = false;
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ id: number; step: number | null }>(newestSteps, [
      [...minSteps.keys()],
    ]);
    if (rows.every((r) => r.step === null || r.step < minSteps.get(r.id)!)) {
      await pipeline([encodePoints(points, 'timestamptz')], client.query(copyFrom(copyPoints)));
      const r = summarize(points);
      await client.query(upsertRollups, [
        r.seriesIds,
        r.shifts,
        r.buckets,
        r.n,
        ...r.first,
        ...r.last,
        ...r.low,
        ...r.high,
      ]);
      await client.query('COMMIT');
      appended = true;
    } else await client.query('ROLLBACK');
  } catch (error) {
    const code = (error as { code?: string }).code;
    // No SQLSTATE: the connection itself failed, so the pool must not hand this client out again.
    if (code === undefined) broken = error as Error;
    else await client.query('ROLLBACK').catch(() => {});
    if (!retryWithMerge.has(code ?? '')) throw error;
  } finally {
    client.release(broken);
  }
  return appended ? points.seriesIds.length : writePointsCopy(pool, points);
}

/** Postgres errors a transaction may simply be run again after: serialization failure, deadlock. */
const transient = new Set(['40001', '40P01']);

/** Points ordered by (series, step), so concurrent writers take index locks in the same order. */
function inLockOrder(p: PointColumns): PointColumns {
  const n = p.seriesIds.length;
  let ordered = true;
  for (let i = 1; i < n && ordered; i++) {
    const d = p.seriesIds[i]! - p.seriesIds[i - 1]!;
    ordered = d > 0 || (d === 0 && p.steps[i]! >= p.steps[i - 1]!);
  }
  if (ordered) return p;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => p.seriesIds[a]! - p.seriesIds[b]! || p.steps[a]! - p.steps[b]!,
  );
  return {
    seriesIds: order.map((i) => p.seriesIds[i]!),
    steps: order.map((i) => p.steps[i]!),
    values: order.map((i) => p.values[i]!),
    times: order.map((i) => p.times[i]!),
  };
}

/**
 * The write path the API uses (see writePointsOnce). Points go in (series, step) order, and a batch that
 * loses a deadlock or a serialization conflict to a concurrent one (it was rolled back whole) is
 * written again, up to 5 times, after a short random pause.
 */
export async function writePoints(pool: pg.Pool, points: PointColumns): Promise<number> {
  if (points.seriesIds.length === 0) return 0;
  const ordered = inLockOrder(points);
  for (let attempt = 1; ; attempt++) {
    try {
      return await writePointsOnce(pool, ordered);
    } catch (error) {
      if (attempt >= 5 || !transient.has((error as { code?: string }).code ?? '')) throw error;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    }
  }
}

/** The same merge as writePointsCopy in one statement: arrays unnested server-side. */
export async function writePointsUnnest(
  pool: pg.Pool | pg.PoolClient,
  points: PointColumns,
): Promise<number> {
  if (points.seriesIds.length === 0) return 0;
  const { rows } = await pool.query<{ inserted: number }>(mergeUnnest, [
    points.seriesIds,
    points.steps,
    points.values,
    points.times,
  ]);
  return rows[0]!.inserted;
}

export interface SeriesQuery {
  /** At most this many points come back (at least 4). */
  maxPoints: number;
  fromStep?: number;
  toStep?: number;
}

export interface SeriesResult {
  points: SeriesPoint[];
  /** Points stored in the range asked for. */
  total: number;
  /** Whether `points` is a downsampled subset. */
  downsampled: boolean;
}

const pointCols = `step, value, ${storedTime} AS time`;

/**
 * A series downsampled on the server, M4-style: the step range is cut into maxPoints/4 equal buckets and
 * each keeps its first, last, lowest and highest point, so spikes and the global extremes survive any
 * zoom. Whole rollup buckets come from metric_rollups (the coarsest level finer than a query bucket,
 * so about a thousand rows for any range); only the partial buckets at the range's two edges are read
 * from metric_points. A range holding at most maxPoints points comes back whole.
 */
export async function querySeries(
  pool: pg.Pool | pg.PoolClient,
  seriesId: number,
  q: SeriesQuery,
): Promise<SeriesResult> {
  const maxPoints = Math.max(4, Math.floor(q.maxPoints));
  const ends = await pool.query<{ lo: number | null; hi: number | null }>(
    `SELECT (SELECT step FROM metric_points WHERE series_id = $1 AND step >= $2 ORDER BY step LIMIT 1) AS lo,
            (SELECT step FROM metric_points WHERE series_id = $1 AND step <= $3 ORDER BY step DESC LIMIT 1) AS hi`,
    [seriesId, q.fromStep ?? 0, q.toStep ?? Number.MAX_SAFE_INTEGER],
  );
  const { lo, hi } = ends.rows[0]!;
  if (lo === null || hi === null || lo > hi) return { points: [], total: 0, downsampled: false };
  const raw = async () =>
    (
      await pool.query<SeriesPoint>(
        `SELECT ${pointCols} FROM metric_points WHERE series_id = $1 AND step BETWEEN $2 AND $3 ORDER BY step`,
        [seriesId, lo, hi],
      )
    ).rows;
  const span = hi - lo + 1;
  if (span <= maxPoints) {
    const points = await raw();
    return { points, total: points.length, downsampled: false };
  }
  const buckets = Math.floor(maxPoints / 4);
  const width = span / buckets;
  const shift = [...rollupShifts].reverse().find((s) => 2 ** s <= width);
  // Whole rollup buckets inside [lo, hi]; with no usable level, none (everything from raw points).
  const size = shift === undefined ? 0 : 2 ** shift;
  const firstBucket = shift === undefined ? 1 : Math.ceil(lo / size);
  const lastBucket = shift === undefined ? 0 : Math.floor((hi + 1) / size) - 1;
  const innerLo = firstBucket * size;
  const innerHi = (lastBucket + 1) * size - 1;
  const hasInner = lastBucket >= firstBucket;
  // Every summary (rollup row or single raw point) goes to query bucket floor((step - lo) * buckets / span),
  // keyed by the step where the summary starts; then M4 over each query bucket. Rollups carry each
  // extreme's value and wall time, so the chosen points come straight from them: no second read of
  // metric_points for the picks.
  const { rows } = await pool.query<SeriesPoint & { total: number }>(
    `WITH parts AS (
       SELECT bucket << $6 AS start, n, first, last, low, high FROM metric_rollups
       WHERE $7 AND series_id = $1 AND shift = $6 AND bucket BETWEEN $8 AND $9
       UNION ALL
       SELECT step, 1, ARRAY[step::float8, value, t], ARRAY[step::float8, value, t], ARRAY[value, step::float8, t],
              ARRAY[value, -step::float8, t]
       FROM (
         -- The range's partial buckets, as two tight index ranges (one filtered scan would read them all).
         SELECT step, value, ${storedTime} AS t FROM metric_points
         WHERE series_id = $1 AND step >= $2 AND step < (CASE WHEN $7 THEN $10 ELSE $3 + 1 END)
         UNION ALL
         SELECT step, value, ${storedTime} FROM metric_points WHERE $7 AND series_id = $1 AND step > $11 AND step <= $3
       ) edge),
     m4 AS (
       SELECT sum(n) AS n, min(first) AS a, max(last) AS b, min(low) AS c, max(high) AS d
       FROM parts GROUP BY floor((start - $2)::float8 * $4 / $5)),
     picks AS (
       SELECT DISTINCT ON (p.step) p.step, p.value, p.time
       FROM m4, LATERAL (VALUES (a[1], a[2], a[3]), (b[1], b[2], b[3]), (c[2], c[1], c[3]), (-d[2], d[1], d[3]))
         AS p(step, value, time)
       ORDER BY p.step)
     SELECT step::int8 AS step, value, time, (SELECT sum(n) FROM m4)::int8 AS total FROM picks ORDER BY step`,
    [seriesId, lo, hi, buckets, span, shift ?? 0, hasInner, firstBucket, lastBucket, innerLo, innerHi],
  );
  const total = rows[0]?.total ?? 0;
  if (total <= maxPoints) {
    const points = await raw();
    return { points, total: points.length, downsampled: false };
  }
  const points = rows.map(({ step, value, time }) => ({ step, value, time }));
  return { points, total, downsampled: true };
}

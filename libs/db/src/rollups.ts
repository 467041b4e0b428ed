// M4 summaries of a batch of new points, computed in Node for the direct write path: the batch is already
// in memory as columns, so one pass here replaces the per-row array aggregates Postgres would run. The
// result is folded into metric_rollups with the same LEAST/GREATEST merge the SQL path uses, and must
// match it exactly (libs/db/test/write-path.test.ts compares the two).
import { storedMs } from './copy-binary.js';
import type { PointColumns } from './point-store.js';

/** Rollup levels: buckets of 2^shift steps. */
export const rollupShifts = [6, 10, 14] as const;

/**
 * One bucket's summary: count, first/last by step, lowest/highest value (ties to the earlier step), each
 * with its point's wall time (as given; converted to what Postgres stores when emitted).
 */
interface Summary {
  n: number;
  firstStep: number;
  firstValue: number;
  firstTime: number;
  lastStep: number;
  lastValue: number;
  lastTime: number;
  lowValue: number;
  lowStep: number;
  lowTime: number;
  highValue: number;
  highStep: number;
  highTime: number;
}

function fold(into: Summary, s: Summary): void {
  into.n += s.n;
  if (s.firstStep < into.firstStep) {
    into.firstStep = s.firstStep;
    into.firstValue = s.firstValue;
    into.firstTime = s.firstTime;
  }
  if (s.lastStep > into.lastStep) {
    into.lastStep = s.lastStep;
    into.lastValue = s.lastValue;
    into.lastTime = s.lastTime;
  }
  if (s.lowValue < into.lowValue || (s.lowValue === into.lowValue && s.lowStep < into.lowStep)) {
    into.lowValue = s.lowValue;
    into.lowStep = s.lowStep;
    into.lowTime = s.lowTime;
  }
  if (s.highValue > into.highValue || (s.highValue === into.highValue && s.highStep < into.highStep)) {
    into.highValue = s.highValue;
    into.highStep = s.highStep;
    into.highTime = s.highTime;
  }
}

type Triple = [number[], number[], number[]];

/** Rows for metric_rollups as parallel arrays (the shape unnest() takes): each extreme's three elements. */
export interface RollupColumns {
  seriesIds: number[];
  shifts: number[];
  buckets: number[];
  n: number[];
  /** [step, value, wall ms] */
  first: Triple;
  /** [step, value, wall ms] */
  last: Triple;
  /** [value, step, wall ms] */
  low: Triple;
  /** [value, -step, wall ms] */
  high: Triple;
}

/**
 * Summaries of every (series, level, bucket) the points touch, sorted by series, level and bucket so
 * concurrent writers lock rollup rows in the same order. Values must be finite (callers check).
 */
export function summarize(p: PointColumns): RollupColumns {
  const [s0, ...coarser] = rollupShifts;
  // Level 0 straight from the points; steps can pass 2^31, so buckets by division, not >>.
  const levels = new Map<number, Map<number, Summary>>(); // series → bucket → summary, level 0
  const width = 2 ** s0;
  // Points of one bucket usually arrive together: fold them into the bucket at hand without a lookup
  // or an object per point (the same comparisons as fold()).
  let cur: Summary | undefined;
  let curSid = Number.NaN;
  let curBucket = Number.NaN;
  for (let i = 0; i < p.seriesIds.length; i++) {
    const sid = p.seriesIds[i]!;
    const step = p.steps[i]!;
    const value = p.values[i]!;
    const time = p.times[i]!;
    const bucket = Math.floor(step / width);
    if (cur && sid === curSid && bucket === curBucket) {
      cur.n++;
      if (step < cur.firstStep) {
        cur.firstStep = step;
        cur.firstValue = value;
        cur.firstTime = time;
      }
      if (step > cur.lastStep) {
        cur.lastStep = step;
        cur.lastValue = value;
        cur.lastTime = time;
      }
      if (value < cur.lowValue || (value === cur.lowValue && step < cur.lowStep)) {
        cur.lowValue = value;
        cur.lowStep = step;
        cur.lowTime = time;
      }
      if (value > cur.highValue || (value === cur.highValue && step < cur.highStep)) {
        cur.highValue = value;
        cur.highStep = step;
        cur.highTime = time;
      }
      continue;
    }
    let bySeries = levels.get(sid);
    if (!bySeries) {
      bySeries = new Map();
      levels.set(sid, bySeries);
    }
    const s = bySeries.get(bucket);
    const one: Summary = {
      n: 1,
      firstStep: step,
      firstValue: value,
      firstTime: time,
      lastStep: step,
      lastValue: value,
      lastTime: time,
      lowValue: value,
      lowStep: step,
      lowTime: time,
      highValue: value,
      highStep: step,
      highTime: time,
    };
    if (s) fold(s, one);
    else bySeries.set(bucket, one);
    cur = s ?? one;
    curSid = sid;
    curBucket = bucket;
  }
  const out: RollupColumns = {
    seriesIds: [],
    shifts: [],
    buckets: [],
    n: [],
    first: [[], [], []],
    last: [[], [], []],
    low: [[], [], []],
    high: [[], [], []],
  };
  const emit = (sid: number, shift: number, bucket: number, s: Summary) => {
    out.seriesIds.push(sid);
    out.shifts.push(shift);
    out.buckets.push(bucket);
    out.n.push(s.n);
    out.first[0].push(s.firstStep);
    out.first[1].push(s.firstValue);
    out.first[2].push(storedMs(s.firstTime));
    out.last[0].push(s.lastStep);
    out.last[1].push(s.lastValue);
    out.last[2].push(storedMs(s.lastTime));
    out.low[0].push(s.lowValue);
    out.low[1].push(s.lowStep);
    out.low[2].push(storedMs(s.lowTime));
    out.high[0].push(s.highValue);
    out.high[1].push(-s.highStep);
    out.high[2].push(storedMs(s.highTime));
  };
  const emitLevel = (sid: number, shift: number, level: Map<number, Summary>) => {
    for (const b of [...level.keys()].sort((x, y) => x - y)) emit(sid, shift, b, level.get(b)!);
  };
  for (const sid of [...levels.keys()].sort((a, b) => a - b)) {
    let level = levels.get(sid)!;
    let shift: number = s0;
    emitLevel(sid, shift, level);
    // Each level from the one below, as the SQL path does.
    for (const to of coarser) {
      const next = new Map<number, Summary>();
      for (const [b, s] of level) {
        const up = Math.floor(b / 2 ** (to - shift));
        const t = next.get(up);
        if (t) fold(t, s);
        else next.set(up, { ...s });
      }
      emitLevel(sid, to, next);
      level = next;
      shift = to;
    }
  }
  return out;
}

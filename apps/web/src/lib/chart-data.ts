// Turning an M4-downsampled series into what a chart draws: x in the chosen unit, the (optionally
// smoothed) line, and the min/max band of each M4 bucket so spikes stay visible even when smoothed.
import type { SeriesPoint } from './types';

export type XAxis = 'step' | 'relative' | 'wall';

/**
 * TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled
 * toward zero (divide by 1 - w^n). weight 0 leaves the values as they are.
 */
export function smoothEma(values: readonly number[], weight: number): number[] {
  if (!(weight > 0)) return [...values];
  const out: number[] = new Array(values.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    n++;
    out[i] = last / (1 - weight ** n);
  }
  return out;
}

/**
 * Each point's M4 bucket low and high, using the server's bucketing: maxPoints/4 equal step buckets over
 * the points' step range. A series that came back whole has no band (lo = hi = value).
 */
export function m4Band(
  points: readonly SeriesPoint[],
  maxPoints: number,
  downsampled: boolean,
): { lo: number[]; hi: number[] } {
  const lo = points.map((p) => p.value);
  const hi = lo.slice();
  if (!downsampled || points.length === 0) return { lo, hi };
  const first = points[0]!.step;
  const span = points[points.length - 1]!.step - first + 1;
  const buckets = Math.max(1, Math.floor(maxPoints / 4));
  const bucketOf = (step: number) => Math.floor(((step - first) * buckets) / span);
  let start = 0;
  for (let i = 1; i <= points.length; i++) {
    if (i < points.length && bucketOf(points[i]!.step) === bucketOf(points[start]!.step)) continue;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = start; j < i; j++) {
      min = Math.min(min, points[j]!.value);
      max = Math.max(max, points[j]!.value);
    }
    for (let j = start; j < i; j++) {
      lo[j] = min;
      hi[j] = max;
    }
    start = i;
  }
  return { lo, hi };
}

/** x values in the chart's unit: steps, seconds since the run's first point, or epoch seconds. */
export function xValues(points: readonly SeriesPoint[], axis: XAxis, t0: number): number[] {
  if (axis === 'step') return points.map((p) => p.step);
  if (axis === 'wall') return points.map((p) => p.time / 1000);
  return points.map((p) => (p.time - t0) / 1000);
}

export interface ChartColumns {
  x: number[];
  line: (number | null)[];
  lo: (number | null)[];
  hi: (number | null)[];
  /** Points left out because a log axis cannot show them (x or y ≤ 0). */
  hidden: number;
}

export function chartColumns(
  points: readonly SeriesPoint[],
  opts: {
    axis: XAxis;
    t0: number;
    smoothing: number;
    logX: boolean;
    logY: boolean;
    maxPoints: number;
    downsampled: boolean;
  },
): ChartColumns {
  const band = m4Band(points, opts.maxPoints, opts.downsampled);
  const line = smoothEma(
    points.map((p) => p.value),
    opts.smoothing,
  );
  const xs = xValues(points, opts.axis, opts.t0);
  const order = xs.map((_, i) => i);
  if (opts.axis !== 'step') order.sort((a, b) => xs[a]! - xs[b]!);
  const out: ChartColumns = { x: [], line: [], lo: [], hi: [], hidden: 0 };
  for (const i of order) {
    if (opts.logX && !(xs[i]! > 0)) {
      out.hidden++;
      continue;
    }
    const ok = (v: number) => (opts.logY && !(v > 0) ? null : v);
    if (opts.logY && !(points[i]!.value > 0)) out.hidden++;
    out.x.push(xs[i]!);
    out.line.push(ok(line[i]!));
    out.lo.push(ok(band.lo[i]!));
    out.hi.push(ok(band.hi[i]!));
  }
  return out;
}

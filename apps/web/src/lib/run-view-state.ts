// The run page's view state in the URL: x axis, smoothing, log axes and the zoomed step range.
import type { XAxis } from './chart-data';

export interface RunViewState {
  x: XAxis;
  smoothing: number;
  logX: boolean;
  logY: boolean;
  from: number | null;
  to: number | null;
}

export function parseRunViewState(q: URLSearchParams): RunViewState {
  const x = q.get('x');
  const s = Number(q.get('smooth') ?? '0');
  const int = (k: string) => {
    const v = q.get(k);
    if (v === null || !/^\d+$/.test(v)) return null;
    return Number(v);
  };
  return {
    x: x === 'relative' || x === 'wall' ? x : 'step',
    smoothing: Number.isFinite(s) && s >= 0 && s < 1 ? s : 0,
    logX: q.get('logx') === '1',
    logY: q.get('logy') === '1',
    from: int('from'),
    to: int('to'),
  };
}

export function runViewQuery(v: RunViewState): string {
  const p = new URLSearchParams();
  if (v.x !== 'step') p.set('x', v.x);
  if (v.smoothing) p.set('smooth', String(v.smoothing));
  if (v.logX) p.set('logx', '1');
  if (v.logY) p.set('logy', '1');
  if (v.from !== null) p.set('from', String(v.from));
  if (v.to !== null) p.set('to', String(v.to));
  const s = p.toString();
  return s ? `?${s}` : '';
}

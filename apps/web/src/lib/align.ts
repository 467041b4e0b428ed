// Several series on one x axis, as uPlot wants: the union of their steps, null where a series has none.
import type { SeriesPoint } from './types';

export function alignByStep(series: readonly (readonly SeriesPoint[])[]): [number[], ...(number | null)[][]] {
  const steps = [...new Set(series.flatMap((s) => s.map((p) => p.step)))].sort((a, b) => a - b);
  const index = new Map(steps.map((s, i) => [s, i]));
  const cols = series.map((s) => {
    const col: (number | null)[] = new Array(steps.length).fill(null);
    for (const p of s) col[index.get(p.step)!] = p.value;
    return col;
  });
  return [steps, ...cols];
}

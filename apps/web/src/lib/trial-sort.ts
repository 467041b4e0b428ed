// The trials table's sort, kept in the URL: `number`, `state`, `value` or `p.<parameter>`, `-` first for
// descending. Trials without the sorted value go last either way.
import type { Trial } from './sweep-types';

function key(t: Trial, col: string): unknown {
  if (col === 'number') return t.number;
  if (col === 'state') return t.state;
  if (col === 'value') return t.value;
  if (col.startsWith('p.')) return t.params[col.slice(2)];
  return undefined;
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

export function sortTrials(trials: Trial[], sort: string): Trial[] {
  const desc = sort.startsWith('-');
  const col = desc ? sort.slice(1) : sort;
  return [...trials].sort((x, y) => {
    const a = key(x, col);
    const b = key(y, col);
    const missA = a === null || a === undefined;
    const missB = b === null || b === undefined;
    if (missA || missB) return missA === missB ? x.number - y.number : missA ? 1 : -1;
    const c = compare(a, b);
    return (desc ? -c : c) || x.number - y.number;
  });
}

// Small statistics for the quality table: medians and a Mann–Whitney U test (two-sided, normal
// approximation with tie correction), so "matches or beats" is judged rather than eyeballed.
import { logNdtr } from '@kiln/sweeps';

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = (s.length - 1) / 2;
  return ((s[Math.floor(m)] as number) + (s[Math.ceil(m)] as number)) / 2;
}

export interface Comparison {
  /** P(a value from `a` is lower than one from `b`), ties counting half: U / (n·m). */
  pLower: number;
  /** Two-sided p-value of "same distribution". */
  p: number;
}

/** Mann–Whitney U of a against b (lower is better). */
export function mannWhitney(a: readonly number[], b: readonly number[]): Comparison {
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(all.length);
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && (all[j + 1] as { v: number }).v === (all[i] as { v: number }).v) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[k] = r;
    const t = j - i + 1;
    tieTerm += t ** 3 - t;
    i = j + 1;
  }
  const n1 = a.length;
  const n2 = b.length;
  let r1 = 0;
  all.forEach((x, i) => {
    if (x.g === 0) r1 += ranks[i] as number;
  });
  const u1 = r1 - (n1 * (n1 + 1)) / 2; // pairs where a ranks above b (a larger)
  const uLower = n1 * n2 - u1;
  const n = n1 + n2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const z = sigma === 0 ? 0 : (Math.abs(u1 - (n1 * n2) / 2) - 0.5) / sigma;
  return { pLower: uLower / (n1 * n2), p: Math.min(1, 2 * Math.exp(logNdtr(-Math.max(0, z)))) };
}

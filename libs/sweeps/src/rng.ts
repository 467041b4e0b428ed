// Seeded randomness. Each trial draws from its own generator keyed by (seed, trial number, stream), so a
// search rebuilt from its trial rows makes the same draws as the one that never stopped: there is no
// generator state to persist.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';

export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
}

// MurmurHash3's 32-bit finalizer: spreads nearby seeds and trial numbers over the whole state.
function fmix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Streams keep the draws of different purposes (sampling, hyperband brackets) independent. */
export const STREAM = { sample: 1, bracket: 2 } as const;

export function hash32(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = fmix32(h ^ fmix32((p >>> 0) + Math.floor(p / 2 ** 32)));
  return h;
}

export function trialRng(seed: number, trial: number, stream: number): Rng {
  const state = [1, 2, 3, 4].map((i) => hash32(seed, trial, stream, i) | 0);
  if (state.reduce((a, s) => a | s, 0) === 0) state[0] = 1;
  const gen = xoroshiro128plusFromState(state);
  for (let i = 0; i < 8; i++) gen.next();
  let spare: number | undefined;
  const uniform = () => uniformFloat64(gen);
  return {
    uniform,
    normal() {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      // Box–Muller; 1 - u keeps the log argument in (0, 1].
      const r = Math.sqrt(-2 * Math.log(1 - uniform()));
      const theta = 2 * Math.PI * uniform();
      spare = r * Math.sin(theta);
      return r * Math.cos(theta);
    },
  };
}

/**
 * A small seeded generator (xoshiro128**) whose whole state is four uint32 words, so it can be saved in a
 * checkpoint and restored exactly. `seedEverything` installs it as `Math.random`, which is where tfjs
 * draws seeds for unseeded random ops (initializers, dropout), so a seeded run is repeatable end to end.
 */
export class Rng {
  private s = new Uint32Array(4);

  constructor(seed = 0) {
    this.reseed(seed);
  }

  reseed(seed: number): void {
    // splitmix32 expands one seed into the four state words (never all zero).
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }

  /** Next uint32. */
  nextU32(): number {
    const s = this.s;
    let s0 = s[0]!;
    let s1 = s[1]!;
    let s2 = s[2]!;
    let s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  getState(): number[] {
    return Array.from(this.s);
  }

  setState(state: readonly number[]): void {
    if (!Array.isArray(state) || state.length !== 4 || state.some((w) => !Number.isInteger(w))) {
      throw new Error(`RNG state must be 4 uint32 words, got ${JSON.stringify(state)}`);
    }
    this.s.set(state);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Fisher–Yates shuffle of 0..n-1 driven by a generator seeded from (seed, epoch). */
export function permutation(n: number, seed: number, epoch: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  const rng = new Rng((Math.imul(seed >>> 0, 0x9e3779b1) ^ (epoch + 1)) >>> 0);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

let globalRng: Rng | null = null;
const nativeRandom = Math.random;

/**
 * Seeds every source of randomness a training run uses: Kiln's global generator and `Math.random`
 * (tfjs draws seeds for initializers and dropout from it). Returns the seed.
 */
export function seedEverything(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new Error(`seed must be an integer in [0, 2^32), got ${seed}`);
  }
  globalRng = new Rng(seed);
  const rng = globalRng;
  Math.random = () => rng.next();
  return seed;
}

/** The generator installed by `seedEverything`, or null when the run is unseeded. */
export function getGlobalRng(): Rng | null {
  return globalRng;
}

/** Puts back the platform's `Math.random` (tests that seed must not leak into others). */
export function unseed(): void {
  globalRng = null;
  Math.random = nativeRandom;
}

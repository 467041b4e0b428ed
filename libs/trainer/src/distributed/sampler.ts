/**
 * Splits each epoch's sample order across ranks the way torch's DistributedSampler does: rank r takes
 * positions r, r + N, r + 2N, ... of the order, after padding it (by repeating its start) or dropping
 * its tail so every rank gets the same number of samples and so runs the same number of steps.
 * With per-rank batch B, the samples of step k on all ranks together are exactly positions
 * [k·N·B, (k+1)·N·B) of the order: the batch a single process with batch N·B would see.
 */

export interface DistributedSamplerOptions {
  numReplicas: number;
  rank: number;
  /** Shuffle the order each epoch (seeded with seed + epoch, identical on every rank). */
  shuffle?: boolean;
  seed?: number;
  /** Drop the tail instead of padding when the dataset does not divide evenly. */
  dropLast?: boolean;
}

/** mulberry32: small, fast, and the same sequence on every rank for the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A permutation of 0..n-1 (Fisher-Yates) that depends only on the seed. */
export function seededPermutation(n: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  const rand = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = out[i] as number;
    out[i] = out[j] as number;
    out[j] = t;
  }
  return out;
}

export class DistributedSampler {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;

  constructor(opts: DistributedSamplerOptions) {
    if (!Number.isInteger(opts.numReplicas) || opts.numReplicas < 1) {
      throw new RangeError(`numReplicas=${opts.numReplicas}: expected an integer >= 1`);
    }
    if (!Number.isInteger(opts.rank) || opts.rank < 0 || opts.rank >= opts.numReplicas) {
      throw new RangeError(`rank=${opts.rank}: expected an integer in [0, ${opts.numReplicas})`);
    }
    this.numReplicas = opts.numReplicas;
    this.rank = opts.rank;
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
  }

  /** Samples each rank sees per epoch for a dataset (or order) of `size`. */
  numSamples(size: number): number {
    return this.dropLast ? Math.floor(size / this.numReplicas) : Math.ceil(size / this.numReplicas);
  }

  /** This rank's share of a full order the caller already built (and maybe shuffled). */
  shard(order: Int32Array): Int32Array {
    const per = this.numSamples(order.length);
    const out = new Int32Array(per);
    if (order.length === 0) return out;
    for (let k = 0; k < per; k++) {
      // Positions past the end wrap around to the start: the padding torch uses.
      out[k] = order[(this.rank + k * this.numReplicas) % order.length] as number;
    }
    return out;
  }

  /** This rank's sample indices for `epoch` of a dataset of `size`. */
  indices(size: number, epoch: number): Int32Array {
    const order = this.shuffle
      ? seededPermutation(size, this.seed + epoch)
      : Int32Array.from({ length: size }, (_, i) => i);
    return this.shard(order);
  }
}

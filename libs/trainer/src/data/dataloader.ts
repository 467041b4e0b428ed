import { permutation } from '../core/rng.js';
import type { Batch, Dataset } from './dataset.js';
import { defaultCollate } from './dataset.js';

export interface DataLoaderOptions {
  batchSize?: number;
  shuffle?: boolean;
  dropLast?: boolean;
  /** Seed of the shuffle; each epoch's order is a function of (seed, epoch) only. */
  seed?: number;
  collate?: (samples: unknown[]) => Batch;
}

/** Where a loader is in its data: enough to resume mid-epoch without repeating or skipping a batch. */
export interface DataLoaderState {
  epoch: number;
  /** batches of this epoch already handed out */
  position: number;
  seed: number;
}

/** Picks which of the epoch's sample indices this process sees (DDP plugs its sampler in here). */
export type ShardFn = (indices: Int32Array, epoch: number) => Int32Array;

/**
 * Batches a data set. The epoch's order is computed up front (seeded shuffle, then the sharding hook),
 * so resuming at a saved position costs nothing: skipped batches are never built.
 */
export class DataLoader {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly seed: number;
  readonly collate: (samples: unknown[]) => Batch;
  private order: Int32Array | null = null;
  private epoch = 0;
  private position = 0;
  private shard: ShardFn | null = null;

  constructor(dataset: Dataset, options: DataLoaderOptions = {}) {
    const known = new Set(['batchSize', 'shuffle', 'dropLast', 'seed', 'collate']);
    for (const key of Object.keys(options)) {
      if (!known.has(key))
        throw new Error(`unknown DataLoader option "${key}" (known: ${[...known].join(', ')})`);
    }
    if (
      !dataset ||
      typeof dataset.length !== 'number' ||
      !Number.isInteger(dataset.length) ||
      dataset.length < 0
    ) {
      throw new Error('DataLoader dataset must have an integer length');
    }
    if (!dataset.getBatch && !dataset.get)
      throw new Error('DataLoader dataset must implement get(index) or getBatch(indices)');
    const { batchSize = 1, shuffle = false, dropLast = false, seed = 0 } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`DataLoader batchSize must be a positive integer, got ${JSON.stringify(batchSize)}`);
    }
    if (!Number.isInteger(seed) || seed < 0)
      throw new Error(`DataLoader seed must be a non-negative integer, got ${seed}`);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.seed = seed;
    this.collate = options.collate ?? defaultCollate;
  }

  /** Installed by the Trainer from its strategy. */
  setShard(fn: ShardFn | null): void {
    this.shard = fn;
  }

  setEpoch(epoch: number): void {
    if (epoch !== this.epoch) {
      this.position = 0;
      this.order = null;
    }
    this.epoch = epoch;
  }

  /** Sample indices of the current epoch, in order, after shuffling and sharding. */
  epochIndices(epoch = this.epoch): Int32Array {
    const n = this.dataset.length;
    let idx: Int32Array;
    if (this.shuffle) idx = permutation(n, this.seed, epoch);
    else {
      idx = new Int32Array(n);
      for (let i = 0; i < n; i++) idx[i] = i;
    }
    return this.shard ? this.shard(idx, epoch) : idx;
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.shard ? this.epochIndices(this.epoch).length : this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Builds one batch from explicit sample indices. */
  makeBatch(indices: Int32Array): Batch {
    if (this.dataset.getBatch) return this.dataset.getBatch(indices);
    const get = this.dataset.get!.bind(this.dataset);
    return this.collate(Array.from(indices, (i) => get(i)));
  }

  /**
   * Batch `i` of a given order, without touching the loader's position: evaluation loops read a loader
   * this way, so a loader shared with training keeps its place. Null past the end.
   */
  batchAt(order: Int32Array, i: number): Batch | null {
    const start = i * this.batchSize;
    const end = Math.min(start + this.batchSize, order.length);
    if (start >= order.length || (this.dropLast && end - start < this.batchSize)) return null;
    return this.makeBatch(order.subarray(start, end));
  }

  /** Batches in an order of this many samples. */
  batchCount(samples: number): number {
    return this.dropLast ? Math.floor(samples / this.batchSize) : Math.ceil(samples / this.batchSize);
  }

  /** Computes the epoch's order once; `nextBatch` then hands out batches from the saved position. */
  beginEpoch(): void {
    this.order = this.epochIndices();
  }

  /** The next batch of the epoch begun by `beginEpoch`, or null at its end. Advances the position. */
  nextBatch(): Batch | null {
    const idx = this.order ?? this.epochIndices();
    this.order = idx;
    const start = this.position * this.batchSize;
    const end = Math.min(start + this.batchSize, idx.length);
    if (start >= idx.length || (this.dropLast && end - start < this.batchSize)) return null;
    this.position++;
    return this.makeBatch(idx.subarray(start, end));
  }

  /**
   * Yields the remaining batches of the current epoch, starting at the saved position, and advances the
   * position as each batch is handed out. The caller owns (and disposes) the batch tensors.
   */
  *[Symbol.iterator](): Generator<Batch> {
    const idx = this.epochIndices();
    const nBatches = this.dropLast
      ? Math.floor(idx.length / this.batchSize)
      : Math.ceil(idx.length / this.batchSize);
    while (this.position < nBatches) {
      const start = this.position * this.batchSize;
      const slice = idx.subarray(start, Math.min(start + this.batchSize, idx.length));
      this.position++;
      yield this.makeBatch(slice);
    }
  }

  state(): DataLoaderState {
    return { epoch: this.epoch, position: this.position, seed: this.seed };
  }

  loadState(state: DataLoaderState): void {
    if (state.seed !== this.seed) {
      throw new Error(
        `checkpoint's data loader was seeded ${state.seed} but this loader has seed ${this.seed}: the resumed order would differ`,
      );
    }
    this.epoch = state.epoch;
    this.position = state.position;
    this.order = null;
  }
}

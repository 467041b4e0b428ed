import { ENV } from '@kiln/spec';
import * as tf from '@tensorflow/tfjs';
import { type DistributedEnv, readDistributedEnv } from '../distributed/env.js';
import { DistributedConfigError } from '../distributed/errors.js';
import { collectiveTimeoutMs, ProcessGroup, type ProcessGroupOptions } from '../distributed/process-group.js';
import { DistributedSampler } from '../distributed/sampler.js';
import { allocReduceBuffer } from '../distributed/simd-add.js';
import type { Strategy } from './strategy.js';

export interface DDPStrategyOptions {
  /** Defaults to the environment contract (WORLD_SIZE, RANK, MASTER_ADDR, ...). */
  env?: DistributedEnv;
  /** Gradient bucket size in bytes (KILN_DDP_BUCKET_MB, default 25 MB). */
  bucketBytes?: number;
  /** Drop the tail of each epoch instead of padding so ranks see equal shares (default pad). */
  dropLast?: boolean;
  /**
   * How long one collective (a gradient bucket's all-reduce, a metric sync, a barrier) may wait for
   * the other ranks before every rank exits with code 75 naming the rank(s) it waited on.
   * Default KILN_DDP_COLLECTIVE_TIMEOUT_S, else 600 s (distributed/process-group.ts says why).
   */
  collectiveTimeoutMs?: number;
  /** Passed to the process group: rendezvous timeout, chunk size, what to do on peer loss. */
  group?: Omit<ProcessGroupOptions, 'env'>;
}

interface Bucket {
  names: string[];
  offsets: number[];
  sizes: number[];
  flat: Float32Array;
}

function bucketBytesFromEnv(): number {
  const raw = process.env[ENV.ddpBucketMb];
  if (raw === undefined || raw === '') return 25 << 20;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb <= 0) {
    throw new DistributedConfigError(`${ENV.ddpBucketMb}=${JSON.stringify(raw)}: expected a positive number`);
  }
  return Math.round(mb * (1 << 20));
}

/**
 * Distributed data parallel: one process per device, each with a full replica of the model and its
 * own shard of every epoch. Gradients are averaged over the TCP ring in buckets, so every replica
 * applies the same update and the weights stay bit-identical on all ranks.
 */
export class DDPStrategy implements Strategy {
  readonly name = 'ddp';
  readonly worldSize: number;
  readonly rank: number;
  readonly localRank: number;
  readonly isGlobalZero: boolean;
  readonly env: DistributedEnv;
  readonly bucketBytes: number;
  private readonly sampler: DistributedSampler;
  private pg: ProcessGroup | undefined;
  private leaving: Promise<void> | undefined;
  private readonly collectiveTimeoutMs: number;
  private buckets: Bucket[] = [];
  private layoutKey = '';

  constructor(private readonly opts: DDPStrategyOptions = {}) {
    this.env = opts.env ?? readDistributedEnv();
    this.worldSize = this.env.worldSize;
    this.rank = this.env.rank;
    this.localRank = this.env.localRank;
    this.isGlobalZero = this.rank === 0;
    this.bucketBytes = opts.bucketBytes ?? bucketBytesFromEnv();
    // Checked here so a bad value fails when the Trainer is built, not at the first collective.
    this.collectiveTimeoutMs = collectiveTimeoutMs(
      opts.collectiveTimeoutMs ?? opts.group?.collectiveTimeoutMs,
    );
    this.sampler = new DistributedSampler({
      numReplicas: this.worldSize,
      rank: this.rank,
      shuffle: false, // the DataLoader already shuffled with (seed, epoch), identically on every rank
      dropLast: opts.dropLast ?? false,
    });
  }

  get group(): ProcessGroup {
    if (!this.pg) throw new Error('DDPStrategy used before setup(): the Trainer calls setup() first');
    return this.pg;
  }

  /** Joins the group; after a teardown (fit done, test next) it joins a new one, on every rank. */
  async setup(): Promise<void> {
    if (this.pg) return;
    // A teardown still saying goodbye finishes before the next group forms.
    await this.leaving;
    this.pg = await ProcessGroup.init({
      ...this.opts.group,
      collectiveTimeoutMs: this.collectiveTimeoutMs,
      env: this.env,
    });
  }

  async broadcastVariables(vars: tf.Variable[]): Promise<void> {
    if (this.worldSize === 1) return;
    // float32 through a Float32Array; int32/bool through Float64Array, where they are exact.
    for (const wide of [false, true]) {
      const group = vars.filter((v) => (v.dtype === 'float32') !== wide);
      if (group.length === 0) continue;
      const total = group.reduce((n, v) => n + v.size, 0);
      const flat = wide ? new Float64Array(total) : new Float32Array(total);
      let off = 0;
      if (this.isGlobalZero) {
        for (const v of group) {
          flat.set(v.dataSync() as ArrayLike<number>, off);
          off += v.size;
        }
      }
      await this.group.broadcast(flat, 0);
      off = 0;
      for (const v of group) {
        const part = flat.slice(off, off + v.size);
        off += v.size;
        tf.tidy(() => v.assign(tf.tensor(wide ? Array.from(part) : part, v.shape, v.dtype)));
      }
    }
  }

  /** Groups gradients into buckets of about `bucketBytes`, in the (identical) order of their names. */
  private layout(grads: tf.NamedTensorMap): Bucket[] {
    const names = Object.keys(grads);
    const key = names.map((n) => `${n}:${(grads[n] as tf.Tensor).size}`).join('|');
    if (key === this.layoutKey) return this.buckets;
    const buckets: Bucket[] = [];
    let cur: Omit<Bucket, 'flat'> & { total: number } = { names: [], offsets: [], sizes: [], total: 0 };
    const limit = Math.max(1, Math.floor(this.bucketBytes / 4));
    const close = () => {
      if (cur.names.length === 0) return;
      buckets.push({
        names: cur.names,
        offsets: cur.offsets,
        sizes: cur.sizes,
        flat: allocReduceBuffer(cur.total),
      });
      cur = { names: [], offsets: [], sizes: [], total: 0 };
    };
    for (const name of names) {
      const t = grads[name] as tf.Tensor;
      if (t.dtype !== 'float32') {
        throw new DistributedConfigError(
          `gradient "${name}" has dtype ${t.dtype}: DDP averages float32 gradients only`,
        );
      }
      if (cur.total > 0 && cur.total + t.size > limit) close();
      cur.names.push(name);
      cur.offsets.push(cur.total);
      cur.sizes.push(t.size);
      cur.total += t.size;
    }
    close();
    this.buckets = buckets;
    this.layoutKey = key;
    return buckets;
  }

  async allReduceGradients(grads: tf.NamedTensorMap): Promise<tf.NamedTensorMap> {
    if (this.worldSize === 1) return grads;
    const buckets = this.layout(grads);
    const inFlight: Promise<void>[] = [];
    for (const b of buckets) {
      // Copying this bucket off the device awaits, which lets the previous bucket's transfer run.
      for (let i = 0; i < b.names.length; i++) {
        const data = (await (grads[b.names[i] as string] as tf.Tensor).data()) as Float32Array;
        b.flat.set(data, b.offsets[i]);
      }
      inFlight.push(this.group.allReduce(b.flat, 'sum'));
    }
    await Promise.all(inFlight);
    const inv = 1 / this.worldSize;
    const out: tf.NamedTensorMap = {};
    for (const b of buckets) {
      const flat = b.flat;
      for (let i = 0; i < flat.length; i++) flat[i] = (flat[i] as number) * inv;
      for (let i = 0; i < b.names.length; i++) {
        const name = b.names[i] as string;
        const off = b.offsets[i] as number;
        // slice: tfjs may keep the array it is given, and the bucket is reused next step.
        out[name] = tf.tensor(
          flat.slice(off, off + (b.sizes[i] as number)),
          (grads[name] as tf.Tensor).shape,
          'float32',
        );
      }
    }
    return out;
  }

  async reduceNumbers(
    values: Float64Array | number[],
    op: 'mean' | 'sum' | 'max' | 'min',
  ): Promise<number[]> {
    const buf = Float64Array.from(values);
    if (this.worldSize === 1 || buf.length === 0) return Array.from(buf);
    await this.group.allReduce(buf, op === 'mean' ? 'sum' : op);
    if (op === 'mean') for (let i = 0; i < buf.length; i++) buf[i] = (buf[i] as number) / this.worldSize;
    return Array.from(buf);
  }

  async barrier(_tag: string): Promise<void> {
    if (this.worldSize > 1) await this.group.barrier();
  }

  shardIndices(indices: Int32Array, _epoch: number): Int32Array {
    return this.worldSize === 1 ? indices : this.sampler.shard(indices);
  }

  /**
   * Leaves the process group: the Trainer calls it at the end of every fit/validate/test/predict,
   * on success and on failure. Idempotent (a second call waits for the first); a rank that finishes
   * early does not disturb slower ones, so the script may exit right after.
   */
  async teardown(): Promise<void> {
    const pg = this.pg;
    this.pg = undefined;
    if (pg) this.leaving = pg.destroy();
    await this.leaving;
  }
}

/** What the Trainer's `strategy: 'ddp'` creates: a DDP strategy configured from the environment. */
export function createDdpStrategy(): DDPStrategy {
  return new DDPStrategy();
}

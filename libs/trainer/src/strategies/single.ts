import type * as tf from '@tensorflow/tfjs';
import type { Strategy } from './strategy.js';

/** One process, one device: every collective is the identity. */
export class SingleDeviceStrategy implements Strategy {
  readonly name = 'single';
  readonly worldSize = 1;
  readonly rank = 0;
  readonly localRank = 0;
  readonly isGlobalZero = true;

  async setup(): Promise<void> {}
  async broadcastVariables(_vars: tf.Variable[]): Promise<void> {}
  async allReduceGradients(grads: tf.NamedTensorMap): Promise<tf.NamedTensorMap> {
    return grads;
  }
  async reduceNumbers(values: Float64Array | number[]): Promise<number[]> {
    return Array.from(values);
  }
  async barrier(_tag: string): Promise<void> {}
  shardIndices(indices: Int32Array, _epoch: number): Int32Array {
    return indices;
  }
  async teardown(): Promise<void> {}
}

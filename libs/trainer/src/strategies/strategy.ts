import type * as tf from '@tensorflow/tfjs';

/**
 * How the Trainer spreads work over processes. The single-device strategy is the identity; DDP
 * (strategies/ddp.ts) all-reduces gradients over a TCP ring. The Trainer calls these in this order:
 * setup → broadcastVariables → per step allReduceGradients → … → teardown.
 */
export interface Strategy {
  /** 'single' | 'ddp' */
  readonly name: string;
  readonly worldSize: number;
  readonly rank: number;
  readonly localRank: number;
  /** Only rank 0 writes checkpoints and calls loggers. */
  readonly isGlobalZero: boolean;
  setup(): Promise<void>;
  /** rank 0's initial weights to everyone (no-op for single) */
  broadcastVariables(vars: tf.Variable[]): Promise<void>;
  /**
   * Sum across ranks then divide by worldSize; returns new tensors; the caller disposes inputs.
   * (A strategy may return the input tensors themselves when there is nothing to reduce; the Trainer
   * never disposes a tensor that is also in the result.)
   */
  allReduceGradients(grads: tf.NamedTensorMap): Promise<tf.NamedTensorMap>;
  /** reduce plain numbers (metrics with syncDist) */
  reduceNumbers(values: Float64Array | number[], op: 'mean' | 'sum' | 'max' | 'min'): Promise<number[]>;
  barrier(tag: string): Promise<void>;
  /** which sample indices this rank sees this epoch, given the full (possibly shuffled) order */
  shardIndices(indices: Int32Array, epoch: number): Int32Array;
  teardown(): Promise<void>;
}

import type { DataLoaderState } from '../data/dataloader.js';

export type TensorDType = 'float32' | 'int32' | 'bool';

/** A tensor's bytes outside tfjs, as stored in a checkpoint. */
export interface StoredTensor {
  dtype: TensorDType;
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
}

/** Where the fit loop was when the checkpoint was taken. */
export interface LoopState {
  epoch: number;
  /** optimizer steps taken */
  globalStep: number;
  /** batches of `epoch` already trained (the next batch to train is this index) */
  batchPosition: number;
  /** true once epoch `epoch` finished completely (resume starts at the next epoch) */
  epochFinished: boolean;
  /** partial epoch aggregates of logged metrics, so epoch means stay exact across a resume */
  epochMetrics: Record<string, unknown>;
}

/**
 * Everything a resumed run needs. Tensors live in `tensors` (weights under `weights/<name>`, optimizer
 * slots under `optimizer/<i>/…`); the rest is JSON.
 */
export interface CheckpointState {
  formatVersion: number;
  createdAt: string;
  loop: LoopState;
  hparams: Record<string, unknown>;
  weightNames: string[];
  optimizers: { className: string; slotNames: string[]; extraNames: string[] }[];
  schedulers: Record<string, unknown>[];
  callbacks: Record<string, unknown>;
  dataLoader: DataLoaderState | null;
  dataModule: Record<string, unknown> | null;
  rng: { global: number[] | null };
  /** last logged values of every metric (what ModelCheckpoint templates and monitors read) */
  metrics: Record<string, number>;
  /** free space for onSaveCheckpoint hooks */
  extra: Record<string, unknown>;
  tensors: Map<string, StoredTensor>;
}

import * as tf from '@tensorflow/tfjs';

/** What a batch is: one tensor, a tuple of tensors, or named tensors. */
export type Batch = tf.Tensor | tf.Tensor[] | { [key: string]: tf.Tensor };

/**
 * A map-style data set. `getBatch` builds a whole batch from sample indices (fast path, one gather per
 * field); a data set without it is read sample by sample through `get` and stacked.
 */
export interface Dataset<S = unknown> {
  readonly length: number;
  get?(index: number): S;
  getBatch?(indices: Int32Array): Batch;
}

/** Rows of equal-length tensors (features, labels, …); a batch is one `tf.gather` per tensor. */
export class TensorDataset implements Dataset<tf.Tensor[]> {
  readonly length: number;
  readonly tensors: tf.Tensor[];

  constructor(...tensors: tf.Tensor[]) {
    if (tensors.length === 0) throw new Error('TensorDataset needs at least one tensor');
    const n = tensors[0]!.shape[0];
    if (n === undefined) throw new Error('TensorDataset tensors must have a first (sample) dimension');
    tensors.forEach((t, i) => {
      if (t.shape[0] !== n) {
        throw new Error(`TensorDataset tensor ${i} has ${t.shape[0]} rows, expected ${n} like tensor 0`);
      }
    });
    this.length = n;
    this.tensors = tensors;
  }

  get(index: number): tf.Tensor[] {
    return this.tensors.map((t) => tf.tidy(() => t.gather([index]).squeeze([0])));
  }

  getBatch(indices: Int32Array): tf.Tensor[] {
    return tf.tidy(() => {
      const idx = tf.tensor1d(indices, 'int32');
      return this.tensors.map((t) => t.gather(idx));
    });
  }

  dispose(): void {
    tf.dispose(this.tensors);
  }
}

/** Stacks samples that are arrays of numbers / typed arrays / tensors (per field) into a batch. */
export function defaultCollate(samples: unknown[]): Batch {
  const first = samples[0];
  if (first instanceof tf.Tensor) return tf.stack(samples as tf.Tensor[]);
  if (Array.isArray(first) && first.length > 0 && !isNumeric(first[0])) {
    return first.map((_, field) =>
      stackField(
        samples.map((s) => (s as unknown[])[field]),
        field,
      ),
    );
  }
  if (first !== null && typeof first === 'object' && !ArrayBuffer.isView(first) && !Array.isArray(first)) {
    const out: { [key: string]: tf.Tensor } = {};
    for (const key of Object.keys(first)) {
      out[key] = stackField(
        samples.map((s) => (s as Record<string, unknown>)[key]),
        key,
      );
    }
    return out;
  }
  return stackField(samples, 0);
}

function isNumeric(x: unknown): boolean {
  return typeof x === 'number';
}

function stackField(values: unknown[], field: string | number): tf.Tensor {
  const v0 = values[0];
  if (v0 instanceof tf.Tensor) return tf.stack(values as tf.Tensor[]);
  if (typeof v0 === 'number') return tf.tensor1d(values as number[]);
  if (ArrayBuffer.isView(v0) || Array.isArray(v0)) {
    return tf.tensor(values as number[][]);
  }
  throw new Error(
    `cannot collate field ${JSON.stringify(field)}: expected tensors, numbers or number arrays, got ${typeof v0}`,
  );
}

import * as tf from '@tensorflow/tfjs';

/** How per-example losses become the returned tensor, as torch's `reduction` argument. */
export type Reduction = 'mean' | 'sum' | 'none';
export const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

export interface LossOptions {
  /** 'mean' (default): a scalar averaged over examples; 'sum': a scalar; 'none': one loss per example */
  reduction?: Reduction;
}

/** Thrown for bad arguments to a loss; the message names the argument and what was expected. */
export class LossArgumentError extends Error {
  override name = 'LossArgumentError';
}

export function parseReduction(loss: string, options: LossOptions | undefined): Reduction {
  const r = options?.reduction ?? 'mean';
  if (!REDUCTIONS.includes(r))
    throw new LossArgumentError(
      `${loss}: options.reduction must be one of ${REDUCTIONS.map((x) => `'${x}'`).join(', ')}, got ${JSON.stringify(r)}`,
    );
  return r;
}

export function requireTensor(loss: string, name: string, t: unknown): tf.Tensor {
  if (!(t instanceof tf.Tensor))
    throw new LossArgumentError(`${loss}: ${name} must be a tf.Tensor, got ${describe(t)}`);
  if (t.isDisposed) throw new LossArgumentError(`${loss}: ${name} is a disposed tensor`);
  return t;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? (v.constructor?.name ?? 'an object') : typeof v;
}

export const shapeStr = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Applies a reduction to per-example losses with ordinary ops. */
export function reduce(perExample: tf.Tensor, reduction: Reduction): tf.Tensor {
  if (reduction === 'none') return perExample;
  return reduction === 'sum' ? tf.sum(perExample) : tf.mean(perExample);
}

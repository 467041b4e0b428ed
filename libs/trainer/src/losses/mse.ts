import * as tf from '@tensorflow/tfjs';
import {
  LossArgumentError,
  type LossOptions,
  parseReduction,
  reduce,
  requireTensor,
  shapeStr,
} from './options.js';

/**
 * Mean squared error, torch's `F.mse_loss`: (predictions − targets)² averaged over every element
 * ('mean'), summed ('sum') or element-wise ('none', the shape of `predictions`). The shapes must be
 * equal: broadcasting a [N] target against [N, 1] predictions is a classic silent bug.
 */
export function mse(predictions: tf.Tensor, targets: tf.Tensor, options?: LossOptions): tf.Tensor {
  const p = requireTensor('mse', 'predictions', predictions);
  const t = requireTensor('mse', 'targets', targets);
  const reduction = parseReduction('mse', options);
  if (p.dtype !== 'float32') throw new LossArgumentError(`mse: predictions must be float32, got ${p.dtype}`);
  if (!tf.util.arraysEqual(p.shape, t.shape))
    throw new LossArgumentError(
      `mse: targets must have the shape of predictions ${shapeStr(p.shape)}, got ${shapeStr(t.shape)}`,
    );
  return tf.tidy(() => reduce(tf.squaredDifference(p, t.dtype === 'float32' ? t : t.toFloat()), reduction));
}

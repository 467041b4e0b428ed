import * as tf from '@tensorflow/tfjs';
import { recordingStep } from '../compile/recorder.js';
import { type NativeBackend, nativeBackend } from '../optim/native.js';
import {
  LossArgumentError,
  type LossOptions,
  parseReduction,
  type Reduction,
  reduce,
  requireTensor,
  shapeStr,
} from './options.js';

let nativeOps = 0;
/** Raw TensorFlow ops run by the losses so far (tf.profile does not see them). */
export function nativeLossOpCount(): number {
  return nativeOps;
}

/**
 * Softmax cross entropy on unnormalised `logits` [..., C], torch's `F.cross_entropy`:
 * - sparse: `labels` are class indices of shape [...] (logits' shape without the class axis), int32
 *   or integer-valued float32, each in [0, C);
 * - dense: `labels` have logits' shape [..., C] (one-hot rows or class probabilities).
 *
 * On the tensorflow backend the forward pass is TensorFlow's fused (Sparse)SoftmaxCrossEntropyWithLogits
 * op, whose second output is the gradient with respect to the logits: backward is one multiply by the
 * incoming gradient instead of tfjs's ~30-kernel composite. Elsewhere the same math in tfjs ops.
 * Gradients flow to `logits` only (labels are data).
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor, options?: LossOptions): tf.Tensor {
  const x = requireTensor('crossEntropy', 'logits', logits);
  const y = requireTensor('crossEntropy', 'labels', labels);
  const reduction = parseReduction('crossEntropy', options);
  if (x.dtype !== 'float32')
    throw new LossArgumentError(`crossEntropy: logits must be float32, got ${x.dtype}`);
  if (x.rank < 1)
    throw new LossArgumentError('crossEntropy: logits must have a class axis (rank ≥ 1), got a scalar');
  const classes = x.shape[x.rank - 1] as number;
  const batchShape = x.shape.slice(0, -1);
  const sparse = tf.util.arraysEqual(y.shape, batchShape);
  if (!sparse && !tf.util.arraysEqual(y.shape, x.shape))
    throw new LossArgumentError(
      `crossEntropy: labels must be class indices of shape ${shapeStr(batchShape)} or one-hot/probabilities of ` +
        `the logits' shape ${shapeStr(x.shape)}, got ${shapeStr(y.shape)}`,
    );
  // a step being compiled reads nothing back; TensorFlow's CPU kernel rejects out-of-range int labels
  if (sparse) {
    if (!(recordingStep() && y.dtype === 'int32')) checkClassIndices(y, classes);
  } else if (y.dtype !== 'float32')
    throw new LossArgumentError(`crossEntropy: one-hot labels must be float32, got ${y.dtype}`);

  return tf.tidy(() => {
    const n = tf.util.sizeFromShape(batchShape);
    const x2 = flatten(x, [n, classes]);
    const y2 = sparse ? flatten(y.dtype === 'int32' ? y : y.toInt(), [n]) : flatten(y, [n, classes]);
    const nb = nativeBackend();
    const perExampleOrReduced = nb
      ? fused(nb, x2, y2, sparse, reduction, n)
      : composite(x2, y2, sparse, reduction);
    return reduction === 'none' ? flatten(perExampleOrReduced, batchShape) : perExampleOrReduced;
  });
}

/** Reshapes only when needed: a no-op reshape is still a kernel call. */
const flatten = (t: tf.Tensor, shape: number[]) =>
  tf.util.arraysEqual(t.shape, shape) ? t : t.reshape(shape);

/** Integer class indices in [0, classes): read back once (a batch of labels is small). */
function checkClassIndices(y: tf.Tensor, classes: number): void {
  if (y.dtype !== 'int32' && y.dtype !== 'float32')
    throw new LossArgumentError(`crossEntropy: class-index labels must be int32, got ${y.dtype}`);
  const values = y.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isInteger(v))
      throw new LossArgumentError(
        `crossEntropy: labels must be integer class indices, got ${v} at flat index ${i}`,
      );
    if (v < 0 || v >= classes)
      throw new LossArgumentError(
        `crossEntropy: labels must be class indices in [0, ${classes}) for logits with ${classes} classes, ` +
          `got ${v} at flat index ${i}`,
      );
  }
}

/** The fused op for the value, its backprop output (saved) for the gradient. */
function fused(
  nb: NativeBackend,
  x: tf.Tensor,
  y: tf.Tensor,
  sparse: boolean,
  reduction: Reduction,
  n: number,
) {
  const { binding: b } = nb;
  const attrs = [{ name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT }];
  if (sparse)
    attrs.push({
      name: 'Tlabels',
      type: b.TF_ATTR_TYPE,
      value: (b as unknown as { TF_INT32: number }).TF_INT32,
    });
  const op = sparse ? 'SparseSoftmaxCrossEntropyWithLogits' : 'SoftmaxCrossEntropyWithLogits';
  // customGrad passes the inputs, then the save function
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [logits, save] = args as [tf.Tensor, tf.GradSaveFunc];
    nativeOps++;
    const [loss, backprop] = nb.executeMultipleOutputs(op, attrs, [logits, y], 2) as [tf.Tensor, tf.Tensor];
    save([backprop]);
    return {
      value: reduce(loss, reduction),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g = saved[0] as tf.Tensor;
        if (reduction === 'none') return tf.mul(g, dy.reshape([n, 1]));
        return tf.mul(g, reduction === 'mean' ? tf.div(dy, n) : dy);
      },
    };
  });
  return f(x);
}

/** The same math in tfjs ops: −Σ labels · log_softmax(logits), differentiated by tfjs. */
function composite(x: tf.Tensor, y: tf.Tensor, sparse: boolean, reduction: Reduction): tf.Tensor {
  const classes = x.shape[1] as number;
  const target = sparse ? tf.oneHot(y as tf.Tensor1D, classes) : y;
  const perExample = tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(x)), -1));
  return reduce(perExample, reduction);
}

import * as tf from '@tensorflow/tfjs';

/**
 * Clipping without reading anything back to the host: the norm case scales by min(1, max/‖g‖) on the
 * device, so a step costs no synchronisation. Returns new tensors; the caller disposes the inputs.
 */
export function clipGradients(
  grads: tf.NamedTensorMap,
  clipVal: number,
  algorithm: 'norm' | 'value',
): tf.NamedTensorMap {
  return tf.tidy(() => {
    const out: tf.NamedTensorMap = {};
    const names = Object.keys(grads);
    if (algorithm === 'value') {
      for (const n of names) out[n] = tf.clipByValue(grads[n]!, -clipVal, clipVal);
      return out;
    }
    const scale = tf.minimum(1, tf.div(clipVal, tf.add(globalNorm(grads), 1e-6)));
    for (const n of names) out[n] = tf.mul(grads[n]!, scale);
    return out;
  });
}

/** sqrt of the sum of squares over every gradient: the norm `gradientClipAlgorithm: 'norm'` bounds. */
export function globalNorm(grads: tf.NamedTensorMap): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

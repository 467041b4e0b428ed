import type * as tf from '@tensorflow/tfjs';

/**
 * tfjs optimizers keep their rate in different places: SGD/Momentum precompute a scalar in
 * `setLearningRate`, the others read the `learningRate` field on every step.
 */
export function getLearningRate(opt: tf.Optimizer): number {
  const lr = (opt as unknown as { learningRate?: number }).learningRate;
  if (typeof lr !== 'number') throw new Error(`optimizer ${opt.getClassName()} has no learningRate field`);
  return lr;
}

export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  if (!Number.isFinite(lr)) throw new Error(`learning rate must be finite, got ${lr}`);
  const o = opt as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

export { crossEntropy, nativeLossOpCount } from './cross-entropy.js';
export { mse } from './mse.js';
export { LossArgumentError, type LossOptions, REDUCTIONS, type Reduction } from './options.js';

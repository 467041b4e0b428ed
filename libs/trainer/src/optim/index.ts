export { Adam, type AdamOptions, AdamW } from './adam.js';
export { nativeOpCount } from './native.js';
export { KilnOptimizer } from './optimizer.js';
export { OptimizerOptionError } from './options.js';
export { SGD, type SGDOptions } from './sgd.js';

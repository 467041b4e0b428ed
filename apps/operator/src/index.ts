export * from './admission.js';
export * from './capacity.js';
export * from './children.js';
export * from './conditions.js';
export * from './config.js';
export * from './controller.js';
export * from './progress.js';
export * from './workqueue.js';

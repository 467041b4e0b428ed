export * from './config.js';
export * from './events.js';
export * from './kube-launcher.js';
export * from './worker.js';

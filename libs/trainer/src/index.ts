export * from './loggers/index.js';

export * from './loggers/logger.js';

export * from './csv.js';
export * from './file-logger.js';
export * from './jsonl.js';
export * from './logger.js';
export { PlatformLogger, type PlatformLoggerOptions, platformLoggerFromEnv } from './platform.js';
export { claimRunDir, nextVersion } from './run-dir.js';
export type { SummaryValue, TfEvent } from './tensorboard/events.js';
export { readEventFile, TensorBoardLogger, type TensorBoardLoggerOptions } from './tensorboard/logger.js';
export { flattenHparams, type PlainValue, plainHparams } from './values.js';

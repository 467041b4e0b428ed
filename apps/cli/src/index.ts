export { buildContext, runFit } from './commands/fit.js';
export { loadConfig, mergeHparams, parseHparamFlags, type RunConfig } from './config.js';
export { EXIT, UsageError } from './errors.js';
export { type Io, main } from './main.js';
export { buildProgram } from './program.js';

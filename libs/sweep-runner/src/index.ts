// @kiln/sweep-runner: what runs a sweep whatever its trials run on — the pass over the sweep's Postgres
// rows (reconcile.ts, store.ts), the launcher interface, trial jobs' names and shape, run tokens, and the
// local executor (trials as processes on this machine). The sweep worker (apps/worker) drives passes from
// BullMQ with trials as TrainingJobs; `kiln sweep create --local` (apps/cli) drives them from a timer.
export * from './launcher.js';
export * from './local-launcher.js';
export * from './local-sweep.js';
export * from './objective.js';
export * from './reconcile.js';
export * from './store.js';
export * from './tokens.js';
export * from './trial-job.js';

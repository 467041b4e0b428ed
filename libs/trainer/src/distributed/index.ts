export * from './env.js';
export * from './errors.js';
export { type LaunchOptions, type LaunchResult, launch, type RankExit } from './launcher.js';
export {
  DEFAULT_COLLECTIVE_TIMEOUT_MS,
  leaveProcessGroups,
  ProcessGroup,
  type ProcessGroupOptions,
} from './process-group.js';
export type { ReduceOp } from './reduce-kernels.js';
export * from './sampler.js';
export { StoreClient, StoreServer } from './store.js';

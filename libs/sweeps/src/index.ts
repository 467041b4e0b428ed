// @kiln/sweeps: hyperparameter search, pure and seeded, no I/O. The whole state of a search is its
// trial list, so the sweep worker rebuilds a search from its Postgres rows with createSearch(spec, rows).
export { HistoryError } from './history.js';
export { createSearch } from './search.js';
/** log Φ(x), accurate in both tails (TPE's kernels use it; so does bench/sweeps' rank test). */
export { logNdtr } from './truncnorm.js';
export type { ParamValue, PruneDecision, Search, SearchSpec, TrialOutcome, TrialRecord } from './types.js';

// What a search asks of its sampler and its pruner; search.ts holds the trial list, these decide.
import type { ParamValue, PruneDecision, TrialRecord } from './types.js';

export interface Sampler {
  /** Parameters of trial `number`, given every earlier trial (running ones included); undefined when exhausted. */
  suggest(number: number, trials: readonly TrialRecord[]): Record<string, ParamValue> | undefined;
}

export interface Pruner {
  /** Decision for `trial`, whose newest report is the last entry of its `intermediate`. */
  decide(trial: TrialRecord, trials: readonly TrialRecord[]): PruneDecision;
}

/** Objective values turned into losses: lower is better whatever the goal. */
export type Loss = (value: number) => number;

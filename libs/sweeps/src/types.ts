// The search library's contract: the worker, API and local executor code against exactly these types.
import type { SweepSpec } from '@kiln/spec';

/** The objective, algorithm, parameters, maxTrials and parallelism fields of @kiln/spec's SweepSpec. */
export type SearchSpec = Pick<
  SweepSpec,
  'objective' | 'algorithm' | 'parameters' | 'maxTrials' | 'parallelism'
>;

export type ParamValue = number | string | boolean;

export interface TrialRecord {
  number: number;
  params: Record<string, ParamValue>;
  state: 'running' | 'complete' | 'pruned' | 'failed';
  value?: number;
  intermediate: { step: number; value: number }[];
}

export type TrialOutcome = { value: number } | { state: 'failed' } | { state: 'pruned' };
export type PruneDecision = 'continue' | 'prune';

export interface Search {
  /** Exactly `count` new running trials, fewer only when the grid or maxTrials is exhausted. */
  ask(count?: number): TrialRecord[];
  tell(trial: number, outcome: TrialOutcome): void;
  /** Records an intermediate value; asha, hyperband and median-stop may answer 'prune'. */
  report(trial: number, step: number, value: number): PruneDecision;
  readonly trials: readonly TrialRecord[];
  readonly best: TrialRecord | undefined;
}

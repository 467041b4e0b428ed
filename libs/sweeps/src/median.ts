// Median stopping, as optuna/pruners/_percentile.py decides for MedianPruner: once startupTrials trials
// have completed and the trial has reached minResource, stop it when its best value so far is worse
// than the median of the completed trials' values at the same step.
import type { Loss, Pruner } from './sampler.js';
import type { PruneDecision, TrialRecord } from './types.js';

export interface MedianOptions {
  startupTrials: number;
  minResource: number;
}

function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = (s.length - 1) / 2;
  const lo = s[Math.floor(mid)] as number;
  const hi = s[Math.ceil(mid)] as number;
  return lo + (hi - lo) * (mid - Math.floor(mid));
}

export class MedianStop implements Pruner {
  constructor(
    private readonly options: MedianOptions,
    private readonly loss: Loss,
  ) {}

  decide(trial: TrialRecord, trials: readonly TrialRecord[]): PruneDecision {
    const complete = trials.filter((t) => t.state === 'complete');
    if (complete.length === 0 || complete.length < this.options.startupTrials) return 'continue';
    const last = trial.intermediate.at(-1);
    if (!last || last.step < this.options.minResource) return 'continue';
    const own = trial.intermediate.map((r) => this.loss(r.value)).filter((x) => !Number.isNaN(x));
    if (own.length === 0) return 'prune';
    const best = Math.min(...own);
    const others = complete.flatMap((t) =>
      t.intermediate.filter((r) => r.step === last.step).map((r) => this.loss(r.value)),
    );
    const m = median(others);
    if (Number.isNaN(m)) return 'continue';
    return best > m ? 'prune' : 'continue';
  }
}

// Hyperband, as optuna/pruners/_hyperband.py runs it: brackets of successive halving that start pruning
// at ever later rungs; each trial is assigned a bracket by a hash of (seed, trial number) weighted by the
// bracket's budget, and competes only with trials of its own bracket.
import { hash32, STREAM } from './rng.js';
import type { Loss, Pruner } from './sampler.js';
import { SuccessiveHalving } from './successive-halving.js';
import type { PruneDecision, TrialRecord } from './types.js';

export interface HyperbandOptions {
  minResource: number;
  maxResource: number;
  reductionFactor: number;
}

export class Hyperband implements Pruner {
  private readonly brackets: SuccessiveHalving[];
  private readonly budgets: number[];
  private readonly total: number;

  constructor(
    options: HyperbandOptions,
    loss: Loss,
    private readonly seed: number,
  ) {
    const eta = options.reductionFactor;
    // floor(log_η(max/min)) + 1, with a nudge so exact powers (27/1 for η = 3) are not lost to rounding.
    const n = Math.floor(Math.log(options.maxResource / options.minResource) / Math.log(eta) + 1e-9) + 1;
    this.budgets = Array.from({ length: n }, (_, id) => {
      const s = n - 1 - id;
      return Math.ceil((n * eta ** s) / (s + 1));
    });
    this.total = this.budgets.reduce((a, b) => a + b, 0);
    this.brackets = this.budgets.map(
      (_, id) =>
        new SuccessiveHalving(
          { minResource: options.minResource, reductionFactor: eta, minEarlyStoppingRate: id },
          loss,
        ),
    );
  }

  private readonly memo: number[] = [];

  bracketOf(number: number): number {
    const known = this.memo[number];
    if (known !== undefined) return known;
    const id = this.computeBracket(number);
    this.memo[number] = id;
    return id;
  }

  private computeBracket(number: number): number {
    let n = hash32(this.seed, number, STREAM.bracket) % this.total;
    for (let id = 0; id < this.budgets.length; id++) {
      n -= this.budgets[id] as number;
      if (n < 0) return id;
    }
    return this.budgets.length - 1;
  }

  decide(trial: TrialRecord, trials: readonly TrialRecord[]): PruneDecision {
    const id = this.bracketOf(trial.number);
    const peers = trials.filter((t) => this.bracketOf(t.number) === id);
    return (this.brackets[id] as SuccessiveHalving).decide(trial, peers);
  }
}

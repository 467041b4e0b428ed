// Asynchronous successive halving (ASHA), as optuna/pruners/_successive_halving.py decides: rung k sits
// at minResource·η^(rate+k) steps; a trial crossing a rung keeps going only if its value there ranks in
// the top 1/η of all trials that have crossed it so far. A trial's rung value is its first report at or
// past the rung, so the rungs are read off the trial rows rather than kept anywhere else.
import type { Loss, Pruner } from './sampler.js';
import type { PruneDecision, TrialRecord } from './types.js';

export interface HalvingOptions {
  minResource: number;
  reductionFactor: number;
  /** Rungs skipped at the bottom (Hyperband's bracket number). */
  minEarlyStoppingRate: number;
}

export function rungStep(o: HalvingOptions, rung: number): number {
  return o.minResource * o.reductionFactor ** (o.minEarlyStoppingRate + rung);
}

/** Value of `t` at the rung at `step`: its first report at or past it. */
function rungValue(t: TrialRecord, step: number): number | undefined {
  return t.intermediate.find((r) => r.step >= step)?.value;
}

export class SuccessiveHalving implements Pruner {
  constructor(
    private readonly options: HalvingOptions,
    private readonly loss: Loss,
  ) {}

  decide(trial: TrialRecord, trials: readonly TrialRecord[]): PruneDecision {
    const reports = trial.intermediate;
    const last = reports.at(-1);
    if (!last) return 'continue';
    const previous = reports.at(-2)?.step ?? Number.NEGATIVE_INFINITY;
    const score = (v: number) => (Number.isNaN(v) ? Number.POSITIVE_INFINITY : this.loss(v));
    const eta = this.options.reductionFactor;
    for (let rung = 0; ; rung++) {
      const at = rungStep(this.options, rung);
      if (last.step < at) return 'continue';
      if (previous >= at) continue; // crossed at an earlier report, already decided then
      if (Number.isNaN(last.value)) return 'prune';
      const competing: number[] = [];
      for (const t of trials) {
        const v = t === trial ? last.value : rungValue(t, at);
        if (v !== undefined) competing.push(score(v));
      }
      competing.sort((a, b) => a - b);
      const idx = Math.max(0, Math.floor(competing.length / eta) - 1);
      if (!(score(last.value) <= (competing[idx] as number))) return 'prune';
    }
  }
}

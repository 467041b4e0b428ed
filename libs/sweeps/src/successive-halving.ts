// Asynchronous successive halving (ASHA), as optuna/pruners/_successive_halving.py decides: rung k sits
// at minResource·η^(rate+k) steps; a trial crossing a rung keeps going only if its value there ranks in
// the top 1/η of all trials that have reached it so far. A trial's rung value is its first report at or
// past the rung, so the rungs are read off the trial rows rather than kept anywhere else.
// One report may cross several rungs (reports coarser than rungs): it is judged at each in turn and stops
// at the first that prunes it, so a pruned trial never reached the rungs above that one (Optuna records
// `completed_rung_k` only up to it). The rows do not say which rung that was; a pruned trial's last report
// counts at the lowest rung it crossed only, the one it was certainly judged at.
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

export class SuccessiveHalving implements Pruner {
  constructor(
    private readonly options: HalvingOptions,
    private readonly loss: Loss,
  ) {}

  /** Value of `t` at `rung`: its first report at or past it, if `t` reached the rung (see above). */
  private rungValue(t: TrialRecord, rung: number): number | undefined {
    const reports = t.intermediate;
    const i = reports.findIndex((r) => r.step >= rungStep(this.options, rung));
    if (i < 0) return undefined;
    if (rung > 0 && t.state === 'pruned' && i === reports.length - 1) {
      // The pruning report: did it cross the rung below too? Then it was judged there first.
      const below = rungStep(this.options, rung - 1);
      if (i === 0 || (reports[i - 1] as { step: number }).step < below) return undefined;
    }
    return (reports[i] as { value: number }).value;
  }

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
        const v = t === trial ? last.value : this.rungValue(t, rung);
        if (v !== undefined) competing.push(score(v));
      }
      competing.sort((a, b) => a - b);
      const idx = Math.max(0, Math.floor(competing.length / eta) - 1);
      if (!(score(last.value) <= (competing[idx] as number))) return 'prune';
    }
  }
}

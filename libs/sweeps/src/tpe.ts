// Tree-structured Parzen Estimator as Optuna 5's TPESampler runs it by default (multivariate, constant
// liar): the finished trials are split into the best gamma(n) ("below") and the rest ("above"); running
// trials join "above" as if they had scored badly, so trials asked together spread out instead of piling
// on the current optimum. Candidates drawn from the below-mixture are scored by log l(x) − log g(x).
// Parameters present in every finished trial are modelled jointly; the others (conditional ones)
// one at a time over the trials that have them, as Optuna's independent fallback does.
import { ParzenEstimator } from './parzen.js';
import { sampleRandom } from './random.js';
import { type Rng, STREAM, trialRng } from './rng.js';
import type { Loss, Sampler } from './sampler.js';
import { cardinality, type Dimension, isActive, type Space, toExternal, toInternal } from './space.js';
import type { ParamValue, TrialRecord } from './types.js';

/** Optuna's default_gamma: how many finished trials count as good. */
export const gamma = (n: number) => Math.min(Math.ceil(0.1 * n), 25);

/** Pruned trials rank by how far they got, then by their last value (Optuna's _get_pruned_trial_score). */
function prunedScore(t: TrialRecord, loss: Loss): [number, number] {
  const last = t.intermediate.at(-1);
  if (!last) return [1, 0];
  return [-last.step, Number.isNaN(last.value) ? Number.POSITIVE_INFINITY : loss(last.value)];
}

/** Optuna's _split_trials: the best nBelow finished trials (complete first, then pruned) and the rest. */
export function splitTrials(
  trials: readonly TrialRecord[],
  loss: Loss,
  n: number,
): [TrialRecord[], TrialRecord[]] {
  const complete = trials.filter((t) => t.state === 'complete');
  const pruned = trials.filter((t) => t.state === 'pruned');
  const running = trials.filter((t) => t.state === 'running');
  let nBelow = n;
  // Stable sorts: ties keep trial order, as Python's sorted does.
  const byValue = [...complete].sort((a, b) => loss(a.value as number) - loss(b.value as number));
  const below = byValue.slice(0, nBelow);
  const above = byValue.slice(nBelow);
  nBelow = Math.max(0, nBelow - below.length);
  const scored = pruned.map((t) => ({ t, s: prunedScore(t, loss) }));
  scored.sort((a, b) => a.s[0] - b.s[0] || a.s[1] - b.s[1]);
  below.push(...scored.slice(0, nBelow).map((x) => x.t));
  above.push(...scored.slice(nBelow).map((x) => x.t), ...running);
  const byNumber = (a: TrialRecord, b: TrialRecord) => a.number - b.number;
  return [below.sort(byNumber), above.sort(byNumber)];
}

export interface TpeOptions {
  startupTrials: number;
  candidates: number;
}

export class TpeSampler implements Sampler {
  constructor(
    private readonly space: Space,
    private readonly seed: number,
    private readonly loss: Loss,
    private readonly options: TpeOptions,
  ) {}

  suggest(number: number, trials: readonly TrialRecord[]): Record<string, ParamValue> {
    const finished = trials.filter((t) => t.state === 'complete' || t.state === 'pruned');
    if (finished.length < this.options.startupTrials) return sampleRandom(this.space, this.seed, number);
    const rng = trialRng(this.seed, number, STREAM.sample);
    const considered = trials.filter((t) => t.state !== 'failed');
    const [below, above] = splitTrials(considered, this.loss, gamma(finished.length));

    // Joint model over the parameters every finished trial has (Optuna's IntersectionSearchSpace).
    const joint = this.space.dims.filter(
      (d) => cardinality(d) > 1 && finished.every((t) => Object.hasOwn(t.params, d.name)),
    );
    const relative = joint.length > 0 ? this.sampleDims(rng, joint, below, above) : {};

    const params: Record<string, ParamValue> = {};
    for (const d of this.space.dims) {
      if (!isActive(d, params)) continue;
      if (cardinality(d) === 1) params[d.name] = toExternal(d, d.low);
      else if (d.name in relative) params[d.name] = relative[d.name] as ParamValue;
      else params[d.name] = this.sampleDims(rng, [d], below, above)[d.name] as ParamValue;
    }
    return params;
  }

  private sampleDims(
    rng: Rng,
    dims: readonly Dimension[],
    below: readonly TrialRecord[],
    above: readonly TrialRecord[],
  ): Record<string, ParamValue> {
    const observe = (ts: readonly TrialRecord[]) =>
      ts
        .filter((t) => dims.every((d) => Object.hasOwn(t.params, d.name)))
        .map((t) => dims.map((d) => toInternal(d, t.params[d.name] as ParamValue)));
    const l = new ParzenEstimator(dims, observe(below));
    const g = new ParzenEstimator(dims, observe(above));
    const candidates = l.sample(rng, this.options.candidates);
    const lp = l.logPdf(candidates);
    const gp = g.logPdf(candidates);
    let best = 0;
    let bestScore = Number.NEGATIVE_INFINITY;
    candidates.forEach((_, i) => {
      const score = (lp[i] as number) - (gp[i] as number);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    });
    const x = candidates[best] as number[];
    return Object.fromEntries(dims.map((d, j) => [d.name, toExternal(d, x[j] as number)]));
  }
}

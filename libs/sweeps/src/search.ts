// createSearch: the trial list plus the sampler and pruner the spec names. All state is the trial list,
// so createSearch(spec, s.trials) continues exactly as s would.
import { GridCursor } from './grid.js';
import { checkHistory } from './history.js';
import { Hyperband } from './hyperband.js';
import { MedianStop } from './median.js';
import { RandomSampler } from './random.js';
import type { Loss, Pruner, Sampler } from './sampler.js';
import { buildSpace, type Space } from './space.js';
import { SuccessiveHalving } from './successive-halving.js';
import { TpeSampler } from './tpe.js';
import type { PruneDecision, Search, SearchSpec, TrialOutcome, TrialRecord } from './types.js';

const copy = (t: TrialRecord): TrialRecord => ({
  ...t,
  params: { ...t.params },
  intermediate: t.intermediate.map((r) => ({ ...r })),
});

function seedOf(spec: SearchSpec): number {
  return 'seed' in spec.algorithm && spec.algorithm.seed !== undefined ? spec.algorithm.seed : 0;
}

/** TPE's defaults where an early-stopping algorithm asks for TPE sampling. */
const TPE_DEFAULTS = { startupTrials: 10, candidates: 24 };

function samplerFor(
  spec: SearchSpec,
  space: Space,
  history: readonly TrialRecord[],
  loss: Loss,
  pruner: Pruner | undefined,
): Sampler {
  const a = spec.algorithm;
  switch (a.type) {
    case 'grid': {
      const cursor = new GridCursor(space, history.length);
      return { suggest: () => cursor.next() };
    }
    case 'random':
      return new RandomSampler(space, seedOf(spec));
    case 'tpe':
      return new TpeSampler(space, seedOf(spec), loss, {
        startupTrials: a.startupTrials,
        candidates: a.candidates,
      });
    default: {
      if (a.sampler !== 'tpe') return new RandomSampler(space, seedOf(spec));
      const tpe = new TpeSampler(space, seedOf(spec), loss, TPE_DEFAULTS);
      if (!(pruner instanceof Hyperband)) return tpe;
      // As Optuna's HyperbandPruner does, the sampler sees only the trials of the new trial's bracket.
      return {
        suggest: (number, trials) => {
          const bracket = pruner.bracketOf(number);
          return tpe.suggest(
            number,
            trials.filter((t) => pruner.bracketOf(t.number) === bracket),
          );
        },
      };
    }
  }
}

function prunerFor(spec: SearchSpec, loss: Loss): Pruner | undefined {
  const a = spec.algorithm;
  switch (a.type) {
    case 'asha':
      return new SuccessiveHalving(
        { minResource: a.minResource, reductionFactor: a.reductionFactor, minEarlyStoppingRate: 0 },
        loss,
      );
    case 'hyperband':
      return new Hyperband(a, loss, seedOf(spec));
    case 'median-stop':
      return new MedianStop({ startupTrials: a.startupTrials, minResource: a.minResource }, loss);
    default:
      return undefined;
  }
}

class TrialSearch implements Search {
  private readonly list: TrialRecord[];
  private readonly sampler: Sampler;
  private readonly pruner: Pruner | undefined;
  private readonly loss: Loss;
  private readonly limit: number;
  private exhausted = false;

  constructor(spec: SearchSpec, history: readonly TrialRecord[]) {
    const space = buildSpace(spec.parameters);
    checkHistory(space, history);
    this.list = history.map(copy);
    this.loss = spec.objective.goal === 'maximize' ? (v) => -v : (v) => v;
    if (spec.maxTrials === undefined && spec.algorithm.type !== 'grid') {
      throw new RangeError(`maxTrials: is required for ${spec.algorithm.type} search`);
    }
    this.limit = spec.maxTrials ?? Number.POSITIVE_INFINITY;
    this.pruner = prunerFor(spec, this.loss);
    this.sampler = samplerFor(spec, space, this.list, this.loss, this.pruner);
  }

  get trials(): readonly TrialRecord[] {
    return this.list;
  }

  get best(): TrialRecord | undefined {
    let best: TrialRecord | undefined;
    for (const t of this.list) {
      if (t.state !== 'complete' || t.value === undefined) continue;
      if (!best || this.loss(t.value) < this.loss(best.value as number)) best = t;
    }
    return best && copy(best);
  }

  ask(count = 1): TrialRecord[] {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`count: must be an integer ≥ 0, got ${count}`);
    const out: TrialRecord[] = [];
    while (out.length < count && this.list.length < this.limit && !this.exhausted) {
      const number = this.list.length;
      const params = this.sampler.suggest(number, this.list);
      if (!params) {
        this.exhausted = true;
        break;
      }
      const trial: TrialRecord = { number, params, state: 'running', intermediate: [] };
      this.list.push(trial);
      out.push(copy(trial));
    }
    return out;
  }

  private running(trial: number, what: string): TrialRecord {
    const t = this.list[trial];
    if (!Number.isInteger(trial) || !t)
      throw new RangeError(`trial: no trial ${trial} (${this.list.length} asked)`);
    if (t.state !== 'running')
      throw new RangeError(`trial ${trial}: is ${t.state}, only a running trial can be ${what}`);
    return t;
  }

  tell(trial: number, outcome: TrialOutcome): void {
    if ('value' in outcome) {
      if (!Number.isFinite(outcome.value)) {
        throw new RangeError(
          `value: must be a finite number, got ${outcome.value} (tell { state: 'failed' } instead)`,
        );
      }
      const t = this.running(trial, 'told');
      t.state = 'complete';
      t.value = outcome.value;
    } else if (outcome.state === 'failed' || outcome.state === 'pruned') {
      this.running(trial, 'told').state = outcome.state;
    } else {
      throw new RangeError(
        `outcome: expected { value } or { state: 'failed' | 'pruned' }, got ${JSON.stringify(outcome)}`,
      );
    }
  }

  report(trial: number, step: number, value: number): PruneDecision {
    const t = this.running(trial, 'reported on');
    if (!Number.isFinite(step)) throw new RangeError(`step: must be a finite number, got ${step}`);
    if (typeof value !== 'number') throw new RangeError(`value: must be a number, got ${typeof value}`);
    const last = t.intermediate.at(-1);
    if (last && step < last.step)
      throw new RangeError(`step: must be ≥ the last reported step ${last.step}, got ${step}`);
    if (last && step === last.step) {
      // A replayed report (a worker that restarted) is harmless; a different value for a step is not.
      if (!Object.is(last.value, value)) {
        throw new RangeError(`step ${step}: already reported with value ${last.value}, got ${value}`);
      }
    } else {
      t.intermediate.push({ step, value });
    }
    return this.pruner ? this.pruner.decide(t, this.list) : 'continue';
  }
}

export function createSearch(spec: SearchSpec, history: readonly TrialRecord[] = []): Search {
  return new TrialSearch(spec, history);
}

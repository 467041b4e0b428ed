// Shared pieces of the search tests: specs with every default filled in (what validateSweep returns),
// and drivers that run a search against an objective.
import type { SweepParameter } from '@kiln/spec';
import type { Search, SearchSpec, TrialRecord } from '@kiln/sweeps';

export const mixedParameters: Record<string, SweepParameter> = {
  lr: { type: 'loguniform', min: 1e-5, max: 1e-1 },
  dropout: { type: 'uniform', min: 0, max: 0.5 },
  width: { type: 'int', min: 16, max: 512, step: 16 },
  batch: { type: 'int', min: 8, max: 1024, log: true },
  optimizer: { type: 'choice', values: ['adam', 'sgd', 'rmsprop'] },
  momentum: { type: 'uniform', min: 0.5, max: 0.99, when: { optimizer: ['sgd'] } },
  nesterov: { type: 'choice', values: [true, false], when: { optimizer: ['sgd'] } },
};

export function spec(algorithm: SearchSpec['algorithm'], over: Partial<SearchSpec> = {}): SearchSpec {
  return {
    objective: { metric: 'val/loss', goal: 'minimize' },
    algorithm,
    parameters: mixedParameters,
    maxTrials: 40,
    parallelism: 1,
    ...over,
  };
}

export const algorithms = {
  random: { type: 'random', seed: 3 },
  tpe: { type: 'tpe', seed: 3, startupTrials: 5, candidates: 24 },
  asha: { type: 'asha', seed: 3, resource: 'epoch', minResource: 1, maxResource: 9, reductionFactor: 3 },
  hyperband: {
    type: 'hyperband',
    seed: 3,
    resource: 'epoch',
    minResource: 1,
    maxResource: 9,
    reductionFactor: 3,
  },
  'median-stop': { type: 'median-stop', seed: 3, resource: 'epoch', startupTrials: 3, minResource: 1 },
  'asha+tpe': {
    type: 'asha',
    seed: 3,
    sampler: 'tpe',
    resource: 'epoch',
    minResource: 1,
    maxResource: 9,
    reductionFactor: 3,
  },
  'hyperband+tpe': {
    type: 'hyperband',
    seed: 3,
    sampler: 'tpe',
    resource: 'epoch',
    minResource: 1,
    maxResource: 9,
    reductionFactor: 3,
  },
  'median-stop+tpe': {
    type: 'median-stop',
    seed: 3,
    sampler: 'tpe',
    resource: 'epoch',
    startupTrials: 3,
    minResource: 1,
  },
} as const satisfies Record<string, SearchSpec['algorithm']>;

/** A deterministic objective over mixedParameters (any params work: unknown ones are ignored). */
export function objective(p: TrialRecord['params']): number {
  const lr = typeof p.lr === 'number' ? p.lr : 1e-3;
  const d = typeof p.dropout === 'number' ? p.dropout : 0.2;
  const w = typeof p.width === 'number' ? p.width : 128;
  return (
    (Math.log10(lr) + 2.5) ** 2 +
    (d - 0.1) ** 2 +
    Math.abs(Math.log2(w) - 7) / 4 +
    (p.optimizer === 'sgd' ? 0.3 : 0)
  );
}

/**
 * Runs `rounds` rounds: ask `batch` trials, report `steps` intermediate values each (value shrinking
 * with the step), then tell a value, pruned or failed. Trials told are the first `finish` of each batch,
 * so later ones stay running across rounds.
 */
export function drive(search: Search, rounds: number, batch = 1, steps = 0, finish = batch): void {
  for (let r = 0; r < rounds; r++) {
    const asked = search.ask(batch);
    for (const t of asked.slice(0, finish)) {
      const final = objective(t.params);
      let pruned = false;
      for (let s = 1; s <= steps && !pruned; s++) {
        pruned = search.report(t.number, s, final + 1 / s) === 'prune';
      }
      if (pruned) search.tell(t.number, { state: 'pruned' });
      else if (t.number % 11 === 7) search.tell(t.number, { state: 'failed' });
      else search.tell(t.number, { value: final });
    }
  }
}

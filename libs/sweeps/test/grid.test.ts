// Grid search. Cases ported from Optuna tests/samplers_tests/test_grid.py: every combination visited once
// (test_study_optimize_with_single_search_space), exhaustion (test_has_same_search_space / n_trials
// beyond the grid), and resume.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSearch, type SearchSpec } from '@kiln/sweeps';
import { drive } from './helpers.js';

const grid = (parameters: SearchSpec['parameters'], maxTrials?: number): SearchSpec => ({
  objective: { metric: 'loss', goal: 'minimize' },
  algorithm: { type: 'grid' },
  parameters,
  ...(maxTrials === undefined ? {} : { maxTrials }),
  parallelism: 1,
});

const space: SearchSpec['parameters'] = {
  a: { type: 'int', min: 0, max: 4, step: 2 },
  b: { type: 'choice', values: ['x', 'y'] },
  c: { type: 'choice', values: [true, false, 1.5] },
};

describe('grid search', () => {
  it('visits every combination exactly once, then asks return nothing (test_grid.py)', () => {
    const s = createSearch(grid(space));
    const first = s.ask(7);
    assert.equal(first.length, 7);
    const rest = s.ask(100);
    assert.equal(rest.length, 18 - 7, 'fewer than asked: the grid has 3·2·3 = 18 points');
    assert.equal(s.ask(1).length, 0);
    const keys = new Set(s.trials.map((t) => JSON.stringify(t.params)));
    assert.equal(keys.size, 18);
    for (const t of s.trials) {
      assert.ok([0, 2, 4].includes(t.params.a as number));
      assert.ok(['x', 'y'].includes(t.params.b as string));
      assert.ok([true, false, 1.5].includes(t.params.c as boolean | number));
    }
  });

  it('maxTrials below the grid size stops the grid early', () => {
    const s = createSearch(grid(space, 5));
    assert.equal(s.ask(10).length, 5);
    assert.equal(s.ask(1).length, 0);
  });

  it('conditional parameters: a combination for each active value, none for inactive ones', () => {
    const s = createSearch(
      grid({
        optimizer: { type: 'choice', values: ['adam', 'sgd'] },
        momentum: { type: 'choice', values: [0.8, 0.9, 0.99], when: { optimizer: ['sgd'] } },
        layers: { type: 'int', min: 1, max: 2 },
      }),
    );
    const all = s.ask(100);
    // adam × 2 layers + sgd × 3 momenta × 2 layers.
    assert.equal(all.length, 2 + 6);
    assert.equal(new Set(all.map((t) => JSON.stringify(t.params))).size, 8);
    for (const t of all) assert.equal('momentum' in t.params, t.params.optimizer === 'sgd');
  });

  it('resumed from its trials it goes on from the next point, running trials included', () => {
    const whole = createSearch(grid(space));
    drive(whole, 6, 3, 0, 2);
    const part = createSearch(grid(space));
    drive(part, 2, 3, 0, 2);
    const resumed = createSearch(grid(space), JSON.parse(JSON.stringify(part.trials)));
    drive(resumed, 4, 3, 0, 2);
    assert.deepEqual(resumed.trials, whole.trials);
  });

  it('rejects a continuous parameter, naming it', () => {
    assert.throws(
      () => createSearch(grid({ lr: { type: 'uniform', min: 0, max: 1 } })),
      /parameters\.lr: grid search needs int or choice parameters/,
    );
  });
});

// Pruning decisions of asha, hyperband and median-stop. Cases ported from Optuna's
// tests/pruners_tests/test_successive_halving.py, test_hyperband.py and test_median.py (optuna/optuna at
// 1d8ce7bb, each case naming its test). Not ported: bootstrap_count and min_resource="auto" (the Sweep
// spec has neither: minResource is required) and the constructor's ValueErrors (the spec's validator
// refuses those values with field paths); min_early_stopping_rate is Hyperband's bracket number here, so
// its case is the hyperband test's "bracket b first judging at step 3^b".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSearch, type Search, type SearchSpec } from '@kiln/sweeps';

type Goal = 'minimize' | 'maximize';

function search(algorithm: SearchSpec['algorithm'], goal: Goal = 'minimize'): Search {
  return createSearch({
    objective: { metric: 'loss', goal },
    algorithm,
    parameters: { x: { type: 'uniform', min: 0, max: 1 } },
    maxTrials: 1000,
    parallelism: 1,
  });
}

const asha = (minResource: number, reductionFactor: number) =>
  ({ type: 'asha', seed: 1, resource: 'step', minResource, maxResource: 1000, reductionFactor }) as const;
const medianStop = (startupTrials: number, minResource: number) =>
  ({ type: 'median-stop', seed: 1, resource: 'step', startupTrials, minResource }) as const;

const next = (s: Search) => (s.ask(1)[0] as { number: number }).number;

/** Reports `value` at steps 1..last until pruned; returns the last step reported. */
function runUntilPruned(s: Search, value: number, last: number): number {
  const t = next(s);
  for (let step = 1; step <= last; step++) {
    if (s.report(t, step, value) === 'prune') {
      s.tell(t, { state: 'pruned' });
      return step;
    }
  }
  s.tell(t, { value });
  return last;
}

describe('asha (successive halving)', () => {
  for (const [goal, worse] of [
    ['minimize', 2],
    ['maximize', 0.5],
  ] as const) {
    it(`${goal}: first trial not pruned; a worse second trial is (test_successive_halving_pruner_intermediate_values)`, () => {
      const s = search(asha(1, 2), goal);
      const a = next(s);
      assert.equal(s.report(a, 1, 1), 'continue');
      const b = next(s);
      assert.equal(s.report(b, 1, worse), 'prune');
    });
  }

  it('the first trial is never pruned, whatever rungs it crosses (test_successive_halving_pruner_first_trial_is_not_pruned)', () => {
    const s = search(asha(1, 2));
    const t = next(s);
    for (let step = 0; step < 10; step++) assert.equal(s.report(t, step, 1), 'continue');
  });

  it('NaN prunes only at a rung (test_successive_halving_pruner_with_nan)', () => {
    const s = search(asha(2, 2));
    const t = next(s);
    assert.equal(s.report(t, 1, Number.NaN), 'continue');
    assert.equal(s.report(t, 2, Number.NaN), 'prune');
  });

  it('rung membership: only trials promoted at a rung compete at the next (test_successive_halving_pruner_rung_check, one report per step)', () => {
    const s = search(asha(1, 2));
    // Rungs at steps 1, 2, 4. Trial 0 (0.1) passes them all; 0.2..0.7 lose at rung 0 (step 1).
    assert.equal(runUntilPruned(s, 0.1, 7), 7);
    for (let i = 2; i <= 7; i++) assert.equal(runUntilPruned(s, 0.1 * i, 7), 1, `value ${0.1 * i}`);
    assert.equal(runUntilPruned(s, 0.75, 7), 1, '7th from the bottom: pruned at rung 0');
    // Third from the bottom: passes rung 0 (top half of 9) but at rung 1 only 0.1 competes.
    assert.equal(runUntilPruned(s, 0.25, 7), 2);
    // Lowest: passes rungs 0, 1, 2 and runs to the end (rung 3 would be step 8).
    assert.equal(runUntilPruned(s, 0.05, 7), 7);
  });

  it('rung skip: one report crossing several rungs is judged at each in turn and stops at the rung that prunes it (test_successive_halving_pruner_rung_check, reports at step 7 as there)', () => {
    const s = search(asha(1, 2));
    // Rungs at steps 1, 2, 4 (8 is past 7). Each trial reports once, at step 7; a pruned one is told so.
    const reportAt7 = (value: number) => {
      const t = next(s);
      const d = s.report(t, 7, value);
      if (d === 'prune') s.tell(t, { state: 'pruned' });
      return d;
    };
    // 0.1 passes rungs 0, 1 and 2; 0.2..0.7 lose at rung 0 (completed_rung_0 only, in Optuna's words).
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((i) => reportAt7(0.1 * i)),
      ['continue', 'prune', 'prune', 'prune', 'prune', 'prune', 'prune'],
    );
    // 7th from the bottom: completed_rung_0, not completed_rung_1.
    assert.equal(reportAt7(0.75), 'prune');
    // Third from the bottom passes rung 0 (top half of 9) and loses at rung 1, where only 0.1 reached
    // before it (completed_rung_1, not completed_rung_2). Counting the pruned trials' step-7 values at
    // rung 1 too (as if they had reached it) would have promoted it.
    assert.equal(reportAt7(0.25), 'prune');
    // The lowest passes rungs 0, 1 and 2 (completed_rung_2, not completed_rung_3: rung 3 is step 8).
    assert.equal(reportAt7(0.05), 'continue');
    // Rebuilt from the trial list, the search judges the next trial the same way.
    const rebuilt = createSearch(
      {
        objective: { metric: 'loss', goal: 'minimize' },
        algorithm: asha(1, 2),
        parameters: { x: { type: 'uniform', min: 0, max: 1 } },
        maxTrials: 1000,
        parallelism: 1,
      },
      s.trials,
    );
    const t = next(s);
    assert.equal(next(rebuilt), t);
    assert.equal(rebuilt.report(t, 7, 0.15), s.report(t, 7, 0.15));
  });

  it('min resource: rung 0 ends at step minResource (test_successive_halving_pruner_min_resource_parameter)', () => {
    // minResource 1: a worse second trial is judged, and pruned, at step 1.
    const one = search(asha(1, 2));
    one.report(next(one), 1, 1);
    assert.equal(one.report(next(one), 1, 2), 'prune');
    // minResource 2: nothing is judged at step 1; at step 2 it is.
    const two = search(asha(2, 2));
    const a = next(two);
    assert.equal(two.report(a, 1, 1), 'continue');
    assert.equal(two.report(a, 2, 1), 'continue');
    const b = next(two);
    assert.equal(two.report(b, 1, 2), 'continue');
    assert.equal(two.report(b, 2, 2), 'prune');
  });

  it('reduction factor: with η = 3 rung 1 ends at step 3, not 2 (test_successive_halving_pruner_reduction_factor_parameter)', () => {
    const s = search(asha(1, 3));
    const a = next(s);
    for (const step of [1, 2, 3]) assert.equal(s.report(a, step, 1), 'continue');
    const b = next(s);
    assert.equal(s.report(b, 1, 0.5), 'continue', 'rung 0: the better of two passes');
    assert.equal(s.report(b, 2, 2), 'continue', 'no rung at step 2');
    assert.equal(s.report(b, 3, 2), 'prune', 'rung 1 at step 3: worse than the one trial there');
  });

  it('reduction factor: a rung keeps the top 1/η of the trials that reached it', () => {
    const s = search(asha(1, 3));
    // Values 1..9 at step 1 in increasing order: each is promoted only while within the top third.
    const outcomes = [1, 2, 3, 4, 5, 6, 7, 8, 9].map(
      (v) => runUntilPruned(s, v, 1) === 1 && s.trials.at(-1)?.state,
    );
    assert.deepEqual(outcomes, [
      'complete',
      'pruned',
      'pruned',
      'pruned',
      'pruned',
      'pruned',
      'pruned',
      'pruned',
      'pruned',
    ]);
    // A trial better than the third-best of 10 passes.
    assert.equal(runUntilPruned(s, 0.5, 1), 1);
    assert.equal(s.trials.at(-1)?.state, 'complete');
  });

  it('a report that replays the last step gives the same answer', () => {
    const s = search(asha(1, 2));
    runUntilPruned(s, 1, 3);
    const t = next(s);
    assert.equal(s.report(t, 1, 5), 'prune');
    assert.equal(s.report(t, 1, 5), 'prune');
  });
});

describe('hyperband', () => {
  const hb = {
    type: 'hyperband',
    seed: 5,
    resource: 'epoch',
    minResource: 1,
    maxResource: 27,
    reductionFactor: 3,
  } as const;

  it('spreads trials over floor(log3(27)) + 1 = 4 brackets by budget, bracket b first judging at step 3^b (budgets as optuna/pruners/_hyperband.py computes them)', () => {
    // Bracket budgets ceil(4·3^s/(s+1)) for s = 3..0: 27, 12, 6, 4 (of 49). Read the bracket off
    // behaviour: a trial in bracket b is first judged at step 3^b, so a clearly bad trial reporting every
    // step (each worse than all before it) is pruned exactly there, once good trials have set the bar.
    const s = search(hb);
    const firstGood = new Set<number>();
    const prunedAt = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const t = next(s);
      let pruned = 0;
      for (let step = 1; step <= 27 && !pruned; step++) {
        if (s.report(t, step, i < 40 ? 0 : 10 + i) === 'prune') pruned = step;
      }
      if (pruned) {
        s.tell(t, { state: 'pruned' });
        prunedAt.set(pruned, (prunedAt.get(pruned) ?? 0) + 1);
      } else {
        s.tell(t, { value: i < 40 ? 0 : 10 });
        if (i < 40) firstGood.add(t);
      }
    }
    assert.deepEqual(
      [...prunedAt.keys()].sort((a, b) => a - b),
      [1, 3, 9, 27],
    );
    const counts = [1, 3, 9, 27].map((k) => prunedAt.get(k) ?? 0);
    // 360 bad trials over budgets 27:12:6:4 → about 198, 88, 44, 29.
    const [c1, c3, c9, c27] = counts as [number, number, number, number];
    assert.ok(c1 > c3 && c3 > c9 && c27 > 0, `pruned per bracket ${counts}`);
    const share = c1 / 360;
    assert.ok(share > 0.45 && share < 0.65, `bracket 0 share ${share}`);
  });
});

describe('median-stop', () => {
  it('not pruned with no completed trial (test_median_pruner_with_one_trial)', () => {
    const s = search(medianStop(1, 1));
    assert.equal(s.report(next(s), 1, 1), 'continue');
  });

  for (const [goal, worse] of [
    ['minimize', 2],
    ['maximize', 0.5],
  ] as const) {
    it(`${goal}: worse than the median at the same step is pruned (test_median_pruner_intermediate_values)`, () => {
      const s = search(medianStop(1, 1), goal);
      const a = next(s);
      s.report(a, 1, 1);
      s.tell(a, { value: 1 });
      const b = next(s);
      assert.equal(s.report(b, 1, worse), 'prune');
    });
  }

  it('NaN: own best NaN prunes, median NaN does not (test_median_pruner_intermediate_values_nan)', () => {
    const s = search(medianStop(1, 1));
    const a = next(s);
    assert.equal(s.report(a, 1, Number.NaN), 'continue');
    s.tell(a, { value: -1 });
    const b = next(s);
    assert.equal(s.report(b, 1, Number.NaN), 'prune');
    s.tell(b, { value: -1 });
    assert.equal(s.report(next(s), 1, 1), 'continue');
  });

  it('startupTrials completed trials before any is stopped (test_median_pruner_n_startup_trials)', () => {
    const s = search(medianStop(2, 1));
    const a = next(s);
    s.report(a, 1, 1);
    s.tell(a, { value: 1 });
    const b = next(s);
    assert.equal(s.report(b, 1, 2), 'continue');
    s.tell(b, { value: 2 });
    assert.equal(s.report(next(s), 1, 3), 'prune');
  });

  it('minResource: not stopped before it (test_median_pruner_n_warmup_steps)', () => {
    const s = search(medianStop(1, 2));
    const a = next(s);
    s.report(a, 1, 1);
    s.report(a, 2, 1);
    s.tell(a, { value: 1 });
    const b = next(s);
    assert.equal(s.report(b, 1, 2), 'continue');
    assert.equal(s.report(b, 2, 2), 'prune');
  });

  it('compares the best value so far against the median at the current step', () => {
    const s = search(medianStop(1, 1));
    for (const v of [1, 2, 3]) {
      const t = next(s);
      s.report(t, 1, v);
      s.report(t, 2, v);
      s.tell(t, { value: v });
    }
    const t = next(s);
    assert.equal(s.report(t, 1, 1.5), 'continue', '1.5 ≤ median 2');
    assert.equal(s.report(t, 2, 9), 'continue', 'best so far 1.5 still ≤ 2');
    const u = next(s);
    assert.equal(s.report(u, 1, 2.5), 'prune');
  });
});

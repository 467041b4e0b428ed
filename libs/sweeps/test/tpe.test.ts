// TPE: the pieces against Optuna's own cases (tests/samplers_tests/tpe_tests/), constant liar on
// batches, conditional parameters, and that the model beats random on a simple function.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSearch, type SearchSpec, type TrialRecord } from '@kiln/sweeps';
import { Hyperband } from '../src/hyperband.js';
import { numerical } from '../src/parzen.js';
import { buildSpace } from '../src/space.js';
import { splitTrials, TpeSampler } from '../src/tpe.js';
import { logGaussMass } from '../src/truncnorm.js';

const close = (a: number, b: number, rel = 1e-6) =>
  assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${a} ≉ ${b}`);

describe('TPE pieces', () => {
  it('log Gaussian mass matches exact values in both tails (tpe_tests/test_truncnorm.py test_log_gass_mass)', () => {
    // Expected values: Python's math.erfc (double precision) on the same intervals.
    const cases: [number, number, number][] = [
      [-10, 10, 0],
      [-1, 1, -0.38171514630212616],
      [-1e-3, 1e-3, -7.133546798293574],
      [10, 100, -53.23128515051246],
      [-100, -10, -53.23128515051246],
      [0.5, 0.6, -3.373064226942797],
      [30, 31, -454.32124395634315],
      [-3, -2, -3.844353426334205],
    ];
    for (const [a, b, want] of cases) close(logGaussMass(a, b), want, 1e-6);
    assert.equal(logGaussMass(0, 0), Number.NEGATIVE_INFINITY);
  });

  it('kernel widths follow Optuna 5 defaults (tpe_tests/test_parzen_estimator.py test_calculate, endpoints off, magic clip on)', () => {
    const [d] = buildSpace({ a: { type: 'uniform', min: -1, max: 1 } }).dims;
    assert.ok(d);
    const two = numerical(d, [-0.3, 0.3]);
    assert.deepEqual([...two.mus], [-0.3, 0.3, 0]);
    [0.6, 0.6, 2].forEach((s, i) => {
      close(two.sigmas[i] as number, s);
    });
    const four = numerical(d, [-0.4, 0.4, 0.41, 0.42]);
    // Neighbour gaps 0.8, 0.8, 0.01, 0.01 (outermost look inward), clipped below at 2/(1+5).
    [0.8, 0.8, 1 / 3, 1 / 3, 2].forEach((s, i) => {
      close(four.sigmas[i] as number, s);
    });
    const none = numerical(d, []);
    assert.deepEqual([...none.mus], [0]);
    assert.deepEqual([...none.sigmas], [2]);
  });

  it('splits complete by value, then pruned by step reached and last value, then running (test_sampler.py test_split_trials)', () => {
    for (const goal of ['minimize', 'maximize'] as const) {
      const sign = goal === 'minimize' ? 1 : -1;
      const loss = (v: number) => sign * v;
      const trials: TrialRecord[] = [];
      const add = (t: Omit<TrialRecord, 'number' | 'params'>) =>
        trials.push({ number: trials.length, params: { x: 0 }, ...t });
      for (const v of [-1e300, 0, 1, 1e300]) add({ state: 'complete', value: sign * v, intermediate: [] });
      for (const step of [2, 1]) {
        for (const v of [-1e300, 0, 1, 1e300, Number.NaN])
          add({ state: 'pruned', intermediate: [{ step, value: sign * v }] });
      }
      add({ state: 'pruned', intermediate: [] });
      add({ state: 'running', intermediate: [] });
      const finished = trials.length - 1;
      for (let n = 0; n <= finished; n++) {
        const [below, above] = splitTrials(trials, loss, n);
        assert.deepEqual(
          below.map((t) => t.number),
          [...Array(n).keys()],
          `${goal}, n_below ${n}`,
        );
        assert.deepEqual(
          above.map((t) => t.number),
          [...Array(trials.length - n).keys()].map((i) => i + n),
        );
      }
    }
  });
});

const oneDim = (seed: number): SearchSpec => ({
  objective: { metric: 'loss', goal: 'minimize' },
  algorithm: { type: 'tpe', seed, startupTrials: 10, candidates: 24 },
  parameters: { x: { type: 'uniform', min: -10, max: 10 }, k: { type: 'int', min: 0, max: 20 } },
  maxTrials: 200,
  parallelism: 8,
});

describe('TPE sampling', () => {
  it('running trials count through the constant liar: a batch of 8 spreads out instead of piling up (test_constant_liar_with_running_trial)', () => {
    const space = buildSpace(oneDim(1).parameters);
    const loss = (v: number) => v;
    const s = createSearch(oneDim(1));
    for (const t of s.ask(20))
      s.tell(t.number, { value: (t.params.x as number) ** 2 + ((t.params.k as number) - 5) ** 2 });
    const history = s.trials;
    const sampler = new TpeSampler(space, 1, loss, { startupTrials: 10, candidates: 24 });
    const spread = (withLiar: boolean) => {
      const trials = [...history];
      const xs: number[] = [];
      for (let i = 0; i < 8; i++) {
        const number = trials.length;
        // Without the liar each suggestion sees only the finished trials.
        const params = sampler.suggest(number, withLiar ? trials : history);
        trials.push({ number, params, state: 'running', intermediate: [] });
        xs.push(params.x as number);
      }
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    };
    // Same seeds and trial numbers both ways: only the running trials differ.
    const liar = spread(true);
    const plain = spread(false);
    assert.ok(liar > plain * 1.2, `batch std with liar ${liar.toFixed(3)} vs without ${plain.toFixed(3)}`);
  });

  it('beats random search on a quadratic with 60 trials, 8 asked per round, over 6 seeds', () => {
    const f = (p: TrialRecord['params']) => ((p.x as number) - 3) ** 2 + ((p.k as number) - 12) ** 2 / 4;
    const best = (algorithm: SearchSpec['algorithm']) => {
      const s = createSearch({ ...oneDim(0), algorithm, maxTrials: 64 });
      while (s.trials.length < 64) for (const t of s.ask(8)) s.tell(t.number, { value: f(t.params) });
      return s.best?.value as number;
    };
    let wins = 0;
    for (let seed = 0; seed < 6; seed++) {
      const tpe = best({ type: 'tpe', seed, startupTrials: 10, candidates: 24 });
      const random = best({ type: 'random', seed });
      if (tpe < random) wins++;
    }
    assert.ok(wins >= 5, `TPE better than random in ${wins}/6 seeds`);
  });

  it('conditional parameters: modelled over the trials that have them, absent otherwise', () => {
    const s = createSearch({
      objective: { metric: 'loss', goal: 'minimize' },
      algorithm: { type: 'tpe', seed: 2, startupTrials: 8, candidates: 24 },
      parameters: {
        optimizer: { type: 'choice', values: ['adam', 'sgd'] },
        momentum: { type: 'uniform', min: 0, max: 1, when: { optimizer: ['sgd'] } },
        lr: { type: 'loguniform', min: 1e-4, max: 1 },
      },
      maxTrials: 60,
      parallelism: 1,
    });
    // sgd with momentum near 0.9 is best; the model should learn both.
    const f = (p: TrialRecord['params']) =>
      Math.abs(Math.log10(p.lr as number) + 2) +
      (p.optimizer === 'sgd' ? Math.abs((p.momentum as number) - 0.9) * 3 : 1);
    for (let i = 0; i < 60; i++) {
      const [t] = s.ask(1) as [TrialRecord];
      assert.equal('momentum' in t.params, t.params.optimizer === 'sgd');
      s.tell(t.number, { value: f(t.params) });
    }
    const late = s.trials.slice(40);
    assert.ok(
      late.filter((t) => t.params.optimizer === 'sgd').length >= 12,
      'mostly sgd once the model has data',
    );
    assert.ok((s.best?.value as number) < 0.5, `best ${s.best?.value}`);
  });

  it('pruned trials count toward startupTrials, failed ones do not (test_sampler.py test_sample_relative_handle_unsuccessful_states)', () => {
    const spec = oneDim(3);
    const base = createSearch(spec);
    for (const t of base.ask(9)) base.tell(t.number, { value: (t.params.x as number) ** 2 });
    const tenth = (state: 'failed' | 'pruned') => {
      const rows = JSON.parse(JSON.stringify(base.trials)) as TrialRecord[];
      const s = createSearch(spec, rows);
      const [t] = s.ask(1) as [TrialRecord];
      if (state === 'pruned') s.report(t.number, 1, 50);
      s.tell(t.number, { state });
      return (s.ask(1)[0] as TrialRecord).params;
    };
    const random = createSearch({ ...spec, algorithm: { type: 'random', seed: 3 } });
    const randomTenth = (random.ask(11)[10] as TrialRecord).params;
    assert.deepEqual(tenth('failed'), randomTenth, '9 finished < 10 startup trials: still random');
    assert.notDeepEqual(tenth('pruned'), randomTenth, '10 finished: the model takes over');
  });

  it('asha, hyperband and median-stop sample by TPE when sampler is tpe, at random otherwise', () => {
    const f = (p: TrialRecord['params']) => ((p.x as number) - 3) ** 2 + (p.k as number);
    // Hyperband's TPE sees only the new trial's bracket, so it needs more trials to leave startup.
    const after = (n: number, algorithm: SearchSpec['algorithm']) => {
      const s = createSearch({ ...oneDim(4), algorithm });
      for (const t of s.ask(n)) s.tell(t.number, { value: f(t.params) });
      return (s.ask(1)[0] as TrialRecord).params;
    };
    for (const type of ['asha', 'hyperband', 'median-stop'] as const) {
      const base =
        type === 'median-stop'
          ? ({ type, seed: 4, resource: 'epoch', startupTrials: 5, minResource: 1 } as const)
          : ({
              type,
              seed: 4,
              resource: 'epoch',
              minResource: 1,
              maxResource: 9,
              reductionFactor: 3,
            } as const);
      const n = type === 'hyperband' ? 60 : 12;
      const random = after(n, { type: 'random', seed: 4 });
      assert.deepEqual(after(n, base), random, `${type} without sampler samples at random`);
      assert.notDeepEqual(after(n, { ...base, sampler: 'tpe' }), random, `${type} with sampler tpe`);
    }
  });

  it("under hyperband, TPE models only the new trial's bracket (test_hyperband.py test_hyperband_filter_study)", () => {
    const spec: SearchSpec = {
      ...oneDim(6),
      algorithm: {
        type: 'hyperband',
        seed: 6,
        sampler: 'tpe',
        resource: 'epoch',
        minResource: 1,
        maxResource: 27,
        reductionFactor: 3,
      },
    };
    const hb = new Hyperband({ minResource: 1, maxResource: 27, reductionFactor: 3 }, (v) => v, 6);
    // The first trial from 60 on that falls in bracket 0 (the largest), so its bracket is past startup.
    let n = 60;
    while (hb.bracketOf(n) !== 0) n++;
    const s = createSearch(spec);
    for (const t of s.ask(n))
      s.tell(t.number, { value: (t.params.x as number) ** 2 + (t.params.k as number) });
    const history = [...s.trials];
    const next = (s.ask(1)[0] as TrialRecord).params;
    const tpe = new TpeSampler(buildSpace(spec.parameters), 6, (v) => v, {
      startupTrials: 10,
      candidates: 24,
    });
    const peers = history.filter((t) => hb.bracketOf(t.number) === 0);
    assert.ok(peers.length >= 10 && peers.length < n, `${peers.length} peers of ${n}`);
    assert.deepEqual(next, tpe.suggest(n, peers));
    assert.notDeepEqual(next, tpe.suggest(n, history), 'all trials would give another suggestion');
  });
});

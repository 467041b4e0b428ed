// createSearch contract: determinism per seed, resume equivalence, bounds, ask counts, tell/report errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSearch, type SearchSpec, type TrialRecord } from '@kiln/sweeps';
import { algorithms, drive, mixedParameters, spec } from './helpers.js';

const available = Object.keys(algorithms) as (keyof typeof algorithms)[];

function inBounds(t: TrialRecord): void {
  const p = t.params;
  assert.ok(typeof p.lr === 'number' && p.lr >= 1e-5 && p.lr <= 1e-1, `lr ${p.lr}`);
  assert.ok(typeof p.dropout === 'number' && p.dropout >= 0 && p.dropout <= 0.5, `dropout ${p.dropout}`);
  assert.ok(
    typeof p.width === 'number' && Number.isInteger(p.width) && p.width % 16 === 0,
    `width ${p.width}`,
  );
  assert.ok(p.width >= 16 && p.width <= 512, `width ${p.width}`);
  assert.ok(
    typeof p.batch === 'number' && Number.isInteger(p.batch) && p.batch >= 8 && p.batch <= 1024,
    `batch ${p.batch}`,
  );
  assert.ok(['adam', 'sgd', 'rmsprop'].includes(p.optimizer as string), `optimizer ${p.optimizer}`);
  const sgd = p.optimizer === 'sgd';
  assert.equal('momentum' in p, sgd, `momentum active iff sgd: ${JSON.stringify(p)}`);
  assert.equal('nesterov' in p, sgd, `nesterov active iff sgd: ${JSON.stringify(p)}`);
  if (sgd) {
    assert.ok(typeof p.momentum === 'number' && p.momentum >= 0.5 && p.momentum <= 0.99);
    assert.ok(p.nesterov === true || p.nesterov === false);
  }
  assert.equal(Object.keys(p).length, sgd ? 7 : 5);
}

describe('createSearch', () => {
  for (const name of available) {
    const algorithm = algorithms[name];
    it(`${name}: same seed, same trials; another seed, other trials`, () => {
      const a = createSearch(spec(algorithm));
      const b = createSearch(spec(algorithm));
      drive(a, 12, 3, 3);
      drive(b, 12, 3, 3);
      assert.deepEqual(a.trials, b.trials);
      const c = createSearch(spec({ ...algorithm, seed: 4 }));
      drive(c, 12, 3, 3);
      assert.notDeepEqual(
        a.trials.map((t) => t.params),
        c.trials.map((t) => t.params),
      );
    });

    it(`${name}: rebuilt from its trials (running ones and intermediate reports included) it continues exactly`, () => {
      for (const cut of [0, 1, 4, 7, 10]) {
        const whole = createSearch(spec(algorithm));
        const first = createSearch(spec(algorithm));
        // Batches of 4 of which 3 finish: trials stay running across rounds and across the cut.
        drive(whole, 12, 4, 3, 3);
        drive(first, cut, 4, 3, 3);
        const resumed = createSearch(spec(algorithm), JSON.parse(JSON.stringify(first.trials)));
        drive(resumed, 12 - cut, 4, 3, 3);
        assert.deepEqual(resumed.trials, whole.trials, `cut after ${cut} rounds`);
      }
    });

    it(`${name}: every suggestion lies in its bounds, conditional parameters only when active`, () => {
      const s = createSearch(spec(algorithm, { maxTrials: 160 }));
      drive(s, 40, 4, 2);
      assert.equal(s.trials.length, 160);
      for (const t of s.trials) inBounds(t);
      const optimizers = new Set(s.trials.map((t) => t.params.optimizer));
      assert.equal(optimizers.size, 3);
    });

    it(`${name}: ask returns exactly count trials until maxTrials, then fewer, then none`, () => {
      const s = createSearch(spec(algorithm, { maxTrials: 10 }));
      assert.equal(s.ask(0).length, 0);
      assert.deepEqual(
        s.ask(4).map((t) => t.number),
        [0, 1, 2, 3],
      );
      assert.equal(s.ask(5).length, 5);
      assert.deepEqual(
        s.ask(5).map((t) => t.number),
        [9],
      );
      assert.equal(s.ask().length, 0);
      assert.ok(s.trials.every((t) => t.state === 'running'));
    });
  }

  it('random: each parameter covers its range (Optuna test_samplers.py test_float/int/categorical ranges)', () => {
    const s = createSearch(spec(algorithms.random, { maxTrials: 2000 }));
    s.ask(2000);
    const vals = (k: string) =>
      s.trials.map((t) => t.params[k]).filter((v): v is number => typeof v === 'number');
    const lr = vals('lr').map(Math.log10);
    // Log-uniform: about a quarter of draws in each decade of 1e-5..1e-1.
    for (let d = -5; d < -1; d++) {
      const share = lr.filter((x) => x >= d && x < d + 1).length / lr.length;
      assert.ok(share > 0.2 && share < 0.3, `decade 1e${d}: ${share}`);
    }
    const widths = new Set(vals('width'));
    assert.equal(widths.size, 32, 'every width 16..512 step 16 drawn');
    assert.ok(widths.has(16) && widths.has(512));
    const batch = vals('batch');
    assert.ok(batch.includes(8) && batch.includes(1024));
    assert.ok(batch.filter((b) => b < 91).length > batch.length / 3, 'log int favours small values');
  });

  it('tell and report reject bad input with the field named and change nothing', () => {
    const s = createSearch(spec(algorithms.random));
    const [t] = s.ask(1) as [TrialRecord];
    assert.throws(() => s.tell(5, { value: 1 }), /trial: no trial 5/);
    assert.throws(() => s.tell(t.number, { value: Number.NaN }), /value: must be a finite number/);
    assert.throws(() => s.report(t.number, Number.NaN, 1), /step: must be a finite number/);
    assert.equal(s.report(t.number, 2, 0.5), 'continue');
    assert.equal(s.report(t.number, 2, 0.5), 'continue', 'a replayed report is accepted');
    assert.throws(() => s.report(t.number, 2, 0.7), /step 2: already reported with value 0.5/);
    assert.throws(() => s.report(t.number, 1, 0.7), /step: must be ≥ the last reported step 2/);
    assert.deepEqual(s.trials[0]?.intermediate, [{ step: 2, value: 0.5 }]);
    assert.throws(() => s.ask(1.5), /count: must be an integer ≥ 0/);
    s.tell(t.number, { value: 3 });
    assert.throws(() => s.tell(t.number, { value: 2 }), /trial 0: is complete/);
    assert.equal(s.best?.value, 3);
    assert.equal(s.trials.length, 1);
  });

  it('best follows the goal and ignores failed and pruned trials', () => {
    for (const goal of ['minimize', 'maximize'] as const) {
      const s = createSearch(spec(algorithms.random, { objective: { metric: 'm', goal } }));
      s.ask(4);
      s.tell(0, { value: 2 });
      s.tell(1, { value: 5 });
      s.tell(2, { state: 'failed' });
      s.tell(3, { state: 'pruned' });
      assert.equal(s.best?.number, goal === 'minimize' ? 0 : 1);
    }
    assert.equal(createSearch(spec(algorithms.random)).best, undefined);
  });

  it('rejects a history that does not fit the spec, naming the row and field', () => {
    const s = createSearch(spec(algorithms.random));
    s.ask(3);
    const rows = () => JSON.parse(JSON.stringify(s.trials)) as TrialRecord[];
    const cases: [string, (r: TrialRecord[]) => void, RegExp][] = [
      ['gap in numbers', (r) => r.splice(1, 1), /history\[1\]\.number: must be 1/],
      [
        'out of bounds',
        (r) => {
          (r[2] as TrialRecord).params.dropout = 0.9;
        },
        /history\[2\]\.params\.dropout: 0\.9 is outside/,
      ],
      [
        'unknown parameter',
        (r) => {
          (r[0] as TrialRecord).params.depth = 3;
        },
        /history\[0\]\.params\.depth: is not a parameter/,
      ],
      [
        'missing active parameter',
        (r) => {
          delete (r[0] as TrialRecord).params.lr;
        },
        /history\[0\]\.params\.lr: is missing/,
      ],
      [
        'inactive parameter set',
        (r) => {
          const p = (r[0] as TrialRecord).params;
          p.optimizer = 'adam';
          p.momentum = 0.9;
          delete p.nesterov;
        },
        /history\[0\]\.params\.momentum: is set but its condition does not hold/,
      ],
      [
        'complete without value',
        (r) => {
          (r[1] as TrialRecord).state = 'complete';
        },
        /history\[1\]\.value: a complete trial needs a finite value/,
      ],
      [
        'bad state',
        (r) => {
          (r[1] as { state: string }).state = 'done';
        },
        /history\[1\]\.state: must be running, complete/,
      ],
    ];
    for (const [name, corrupt, error] of cases) {
      const r = rows();
      corrupt(r);
      assert.throws(() => createSearch(spec(algorithms.random), r), error, name);
    }
    assert.equal(createSearch(spec(algorithms.random), rows()).trials.length, 3);
  });

  it('maxTrials edited while running: lowering stops asks, raising continues as if it had been higher all along', () => {
    for (const algorithm of [algorithms.random, algorithms.tpe, algorithms.asha]) {
      const long = createSearch(spec(algorithm, { maxTrials: 30 }));
      drive(long, 10, 3, 2);
      const short = createSearch(spec(algorithm, { maxTrials: 12 }));
      drive(short, 10, 3, 2);
      assert.equal(short.trials.length, 12);
      const lowered = createSearch(spec(algorithm, { maxTrials: 6 }), short.trials);
      assert.equal(lowered.ask(3).length, 0);
      const raised = createSearch(spec(algorithm, { maxTrials: 30 }), short.trials);
      drive(raised, 6, 3, 2);
      assert.deepEqual(raised.trials, long.trials, algorithm.type);
    }
  });

  it('rejects a search space it cannot sample, naming the parameter', () => {
    const bad = (parameters: SearchSpec['parameters']) => () =>
      createSearch(spec(algorithms.random, { parameters }));
    assert.throws(bad({ x: { type: 'uniform', min: 1, max: 1 } }), /parameters\.x: min must be < max/);
    assert.throws(bad({ k: { type: 'int', min: 3, max: 2 } }), /parameters\.k: min must be ≤ max/);
    assert.throws(
      bad({
        a: { type: 'choice', values: [1], when: { b: [1] } },
        b: { type: 'choice', values: [1], when: { a: [1] } },
      }),
      /conditions form a cycle among a, b/,
    );
    assert.throws(
      () => createSearch(spec(algorithms.random, { maxTrials: undefined })),
      /maxTrials: is required for random/,
    );
  });

  it('parameter order in the spec does not change the trials (a JSON store may reorder keys)', () => {
    const reversed = Object.fromEntries(Object.entries(mixedParameters).reverse());
    const a = createSearch(spec(algorithms.random));
    const b = createSearch(spec(algorithms.random, { parameters: reversed }));
    drive(a, 10, 2, 2);
    drive(b, 10, 2, 2);
    assert.deepEqual(a.trials, b.trials);
  });
});

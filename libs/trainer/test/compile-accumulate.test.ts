// Compiled training steps with gradient accumulation and gradient clipping (tensorflow backend): each
// micro-step of a window is one TensorFlow function call, and compiled and eager runs agree on every
// step's loss and the final weights, windows cut short by the epoch's end and tfjs's own Adam
// included; a step that falls back in the middle of a window carries the gradients it holds over to
// the eager steps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Batch, type TrainerOptions, tf } from '../src/index.js';
import { assertClose, Regressor, run } from './fixtures/compiled.js';
import { TinyData, TinyRegressor } from './fixtures/tiny.js';

delete process.env.KILN_FORCE_BACKEND;
const skipNative = process.env.KILN_SKIP_NATIVE === '1' ? 'KILN_SKIP_NATIVE=1' : false;

// 60 rows: 7 batches of 8, then one of 4, which also ends a window of 2 or 3 early
const data = () => new TinyData({ n: 60 });

describe('compiled gradient accumulation and clipping (tensorflow backend)', { skip: skipNative }, () => {
  const cases: [string, 'adamw' | 'sgd' | 'tfjs', TrainerOptions, number][] = [
    // windows of 2: kinds of micro-step: first[8], more+update[8], more+update[4]; 24 batches
    ['accumulateGradBatches 2', 'adamw', { accumulateGradBatches: 2 }, 17],
    // windows of 3 (the last one of 2): first[8], more[8], more+update[8], more+update[4]; 32 batches
    [
      'accumulateGradBatches 3 and norm clipping',
      'sgd',
      { accumulateGradBatches: 3, gradientClipVal: 0.5 },
      23,
    ],
    // 12 batches: steps 1-3 and the batch of 4 traced
    ['norm clipping', 'adamw', { gradientClipVal: 0.3 }, 8],
    ['value clipping', 'sgd', { gradientClipVal: 0.05, gradientClipAlgorithm: 'value' }, 8],
    // tfjs's own Adam (slots made by its first update, lr a constant of the trace): as the first case
    ['accumulateGradBatches 2 with tf.train.adam', 'tfjs', { accumulateGradBatches: 2 }, 17],
  ];
  const model = (kind: 'adamw' | 'sgd' | 'tfjs') =>
    kind === 'tfjs' ? new TinyRegressor({ lr: 0.05 }) : new Regressor(kind);
  for (const [what, kind, extra, calls] of cases) {
    it(`${what}: compiled losses and weights match eager`, async () => {
      const opts = { maxSteps: 12, ...extra };
      const eager = await run(model(kind), data(), opts);
      const compiled = await run(model(kind), data(), { ...opts, compile: true });
      assert.deepEqual(compiled.warnings, []);
      assert.equal(compiled.compiled?.fallbackReason, null);
      assert.equal(compiled.compiled?.compiledCalls, calls);
      assert.equal(compiled.trainer.globalStep, 12);
      assertClose(compiled, eager, 1e-5, 1e-5);
    });
  }

  it('a step that falls back in the middle of a window: one warning, then eager steps that finish the window', async () => {
    class ReadsBackOnSmallBatch extends Regressor {
      override trainingStep(batch: Batch) {
        const loss = this.trainLoss(batch);
        // data-dependent control flow, on the smaller last batch only: traced after batches 1-7 compiled
        const small = ((batch as tf.Tensor[])[0] as tf.Tensor).shape[0] !== 8;
        return small && loss.dataSync()[0]! > 1e6 ? tf.mul(loss, 0) : loss;
      }
    }
    const opts = { maxSteps: 12, accumulateGradBatches: 3, gradientClipVal: 0.5 };
    const eager = await run(new ReadsBackOnSmallBatch('adamw'), data(), opts);
    const compiled = await run(new ReadsBackOnSmallBatch('adamw'), data(), { ...opts, compile: true });
    assert.equal(compiled.warnings.length, 1, compiled.warnings.join(''));
    assert.match(
      compiled.warnings[0] as string,
      /^kiln: compile: running the training step eagerly: the step reads 1 tensor\(s\) back/,
    );
    // windows [0-2] and [3-5] traced each kind of micro-step; batch 6, the first of the window [6-7],
    // ran compiled and left its gradients in the slots; batch 7 fell back and summed them
    assert.equal(compiled.compiled?.compiledCalls, 1);
    assertClose(compiled, eager, 1e-5, 1e-5);
  });
});

describe('a Module reading the gradients in onBeforeOptimizerStep (tensorflow backend)', {
  skip: skipNative,
}, () => {
  class ReadsGradients extends Regressor {
    norms: number[] = [];
    override onBeforeOptimizerStep(_o: tf.Optimizer, grads: tf.NamedTensorMap): void {
      this.norms.push(
        tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync()[0]!),
      );
    }
  }
  it('forward and backward compiled, the hook sees the same gradients, the run equals eager', async () => {
    // 12 steps: batches of 8 (steps 1 and 2 traced) and one of 4 (traced once), 9 compiled calls
    const opts = { maxSteps: 12, accumulateGradBatches: 1 };
    const eagerModel = new ReadsGradients('adamw');
    const compiledModel = new ReadsGradients('adamw');
    const eager = await run(eagerModel, data(), opts);
    const compiled = await run(compiledModel, data(), { ...opts, compile: true });
    assert.deepEqual(compiled.warnings, []);
    assert.equal(compiled.compiled?.fallbackReason, null);
    assert.equal(compiled.compiled?.compiledCalls, 9);
    assert.equal(compiledModel.norms.length, 12);
    // steps 3-7 run compiled on batches of 8: no tensor left behind by the gradients' route
    assert.equal(new Set(compiled.tensors.slice(2, 7)).size, 1, `live tensors ${compiled.tensors}`);
    compiledModel.norms.forEach((n, i) => {
      const e = eagerModel.norms[i] as number;
      assert.ok(Math.abs(n - e) <= 1e-5 * Math.abs(e), `step ${i + 1}: gradient norm ${n} vs eager ${e}`);
    });
    assertClose(compiled, eager, 1e-5, 1e-5);
  });
});

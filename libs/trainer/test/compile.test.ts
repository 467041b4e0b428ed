// Compiled training steps (Trainer option `compile`) on the tensorflow backend: compiled and eager
// runs agree step by step (LR schedules, a smaller last batch, conv and attention models), no tensor
// leaks over 100 compiled steps (also with gradient accumulation), checkpoints
// pass between them, steps that cannot be compiled fall back with one warning and eager results, and
// bad option values are clear errors.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  AdamW,
  type Batch,
  crossEntropy,
  DataLoader,
  ModelCheckpoint,
  Module,
  TensorDataset,
  Trainer,
  TrainerOptionError,
  tf,
} from '../src/index.js';
import { assertClose, ints, Regressor, run } from './fixtures/compiled.js';
import { TinyData, tmp } from './fixtures/tiny.js';

delete process.env.KILN_FORCE_BACKEND;
const skipNative = process.env.KILN_SKIP_NATIVE === '1' ? 'KILN_SKIP_NATIVE=1' : false;

/** A small conv net on 8×8 images, 3 classes: Conv2D, MaxPool, Dense and Kiln's crossEntropy. */
class TinyCnn extends Module {
  net = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [8, 8, 1],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }),
    ],
  });
  trainingStep(batch: Batch) {
    const [x, y] = batch as tf.Tensor[];
    const loss = crossEntropy(this.net.apply(x as tf.Tensor) as tf.Tensor, y as tf.Tensor) as tf.Scalar;
    this.log('train/loss', loss);
    return loss;
  }
  configureOptimizers() {
    return new AdamW({ lr: 0.01 });
  }
}

/** One causal self-attention head over embedded tokens (gather, matMul, softmax, moments). */
class TinyAttention extends Module {
  emb = tf.variable(tf.randomNormal([16, 8], 0, 1, 'float32', 11));
  wq = tf.variable(tf.randomNormal([8, 8], 0, 0.3, 'float32', 12));
  wk = tf.variable(tf.randomNormal([8, 8], 0, 0.3, 'float32', 13));
  wo = tf.variable(tf.randomNormal([8, 16], 0, 0.3, 'float32', 14));
  mask = tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([6, 6]), -1, 0)), -1e9));
  trainingStep(batch: Batch) {
    const [idx, y] = batch as tf.Tensor[];
    const b = (idx as tf.Tensor).shape[0] as number;
    const x = tf.gather(this.emb, idx as tf.Tensor) as tf.Tensor3D; // [b, 6, 8]
    const { mean, variance } = tf.moments(x, -1, true);
    const h = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))).reshape([b * 6, 8]) as tf.Tensor2D;
    const q = tf.matMul(h, this.wq).reshape([b, 6, 8]);
    const k = tf.matMul(h, this.wk).reshape([b, 6, 8]);
    const att = tf.softmax(tf.add(tf.matMul(q, k, false, true), this.mask));
    const o = tf.matMul(att, h.reshape([b, 6, 8])).reshape([b * 6, 8]) as tf.Tensor2D;
    const loss = crossEntropy(tf.matMul(o, this.wo), (y as tf.Tensor).reshape([-1])) as tf.Scalar;
    this.log('train/loss', loss);
    return loss;
  }
  configureOptimizers() {
    return new AdamW({ lr: 0.01 });
  }
}

describe('compiled training steps (tensorflow backend)', { skip: skipNative }, () => {
  for (const kind of ['adamw', 'sgd'] as const) {
    it(`${kind} with a per-step LR schedule and a smaller last batch: compiled losses and weights match eager`, async () => {
      const data = () => new TinyData({ n: 60 }); // 7 batches of 8, then 4: two shapes
      const opts = { maxSteps: 16 };
      const eager = await run(new Regressor(kind), data(), opts);
      const compiled = await run(new Regressor(kind), data(), { ...opts, compile: true });
      assert.deepEqual(compiled.warnings, []);
      assert.equal(compiled.compiled?.fallbackReason, null);
      // batches of 8: traced at steps 1-3, compiled at 4-7 and 9-15; batches of 4: steps 8 and 16 traced
      assert.equal(compiled.compiled?.compiledCalls, 11);
      assertClose(compiled, eager, 1e-5, 1e-5);
      // no tensor leak while compiled: the live count stays put from one compiled step to the next
      assert.deepEqual(new Set(compiled.tensors.slice(3, 7)).size, 1, `tensors ${compiled.tensors}`);
    });
  }

  it('over 100 compiled steps no tensor leaks, and the smaller last batch is retraced and compiled too', async () => {
    for (const [extra, calls, traces] of [
      // 13 epochs of 7 batches of 8 and one of 4: [8] traced at steps 1-3, [4] at steps 8 and 16
      [{ maxSteps: 106 }, 101, 5],
      // windows of 3 micro-steps (first, more, more+update), the epoch's last window [8]+[4]: 120 batches
      [{ maxSteps: 45, accumulateGradBatches: 3 }, 111, 9],
    ] as const) {
      const live = tf.memory().numTensors;
      const eager = await run(new Regressor('adamw'), new TinyData({ n: 60 }), extra);
      const afterEager = tf.memory().numTensors;
      const compiled = await run(new Regressor('adamw'), new TinyData({ n: 60 }), {
        ...extra,
        compile: true,
      });
      assert.deepEqual(compiled.warnings, []);
      assert.equal(compiled.compiled?.compiledCalls, calls);
      assert.equal(compiled.compiled?.traces, traces);
      assertClose(compiled, eager, 1e-5, 1e-5);
      // flat once the optimizer made its slots (first update), and what the run leaves (model,
      // optimizer state, data) is what eager leaves
      assert.equal(new Set(compiled.tensors.slice(3)).size, 1, `live tensors per step: ${compiled.tensors}`);
      assert.equal(tf.memory().numTensors - afterEager, afterEager - live);
    }
  });

  it('compile: { xla: true } runs the same step through XLA and agrees with eager', async () => {
    const eager = await run(new Regressor('adamw'), new TinyData(), { maxSteps: 8 });
    const xla = await run(new Regressor('adamw'), new TinyData(), { maxSteps: 8, compile: { xla: true } });
    assert.equal(xla.compiled?.fallbackReason, null);
    assert.equal(xla.compiled?.compiledCalls, 5);
    assertClose(xla, eager, 1e-5, 1e-5);
  });

  it('checkpoints pass between compiled and eager runs (exact resume either way)', async () => {
    const ref = await run(new Regressor('adamw'), new TinyData(), { maxSteps: 12 });
    for (const [first, second] of [
      [false, true],
      [true, false],
    ] as const) {
      const dir = join(tmp('compile-ckpt'), 'ck');
      const ckpt = new ModelCheckpoint({ dirpath: dir, everyNTrainSteps: 6, saveTopK: -1, saveLast: false });
      await run(new Regressor('adamw'), new TinyData(), {
        maxSteps: 6,
        compile: first,
        enableCheckpointing: true,
        callbacks: [ckpt],
      });
      const resumed = await run(
        new Regressor('adamw'),
        new TinyData(),
        { maxSteps: 12, compile: second },
        join(dir, 'epoch=0-step=6.ckpt'),
      );
      if (second) assert.ok((resumed.compiled?.compiledCalls ?? 0) > 0, 'the resumed run compiled');
      assertClose(resumed, { ...ref, losses: ref.losses.slice(6) }, 1e-5, 1e-5);
    }
  });

  it('a conv net and an attention model: compiled losses within 1e-5 of eager', async () => {
    const images = () => {
      const x = tf.div(ints(40, [8, 8, 1], 256, 3).toFloat(), 255);
      return new DataLoader(new TensorDataset(x, ints(40, [], 3, 4).reshape([40])), {
        batchSize: 8,
        seed: 1,
      });
    };
    const tokens = () =>
      new DataLoader(new TensorDataset(ints(40, [6], 16, 5), ints(40, [6], 16, 6)), {
        batchSize: 8,
        seed: 1,
      });
    for (const [make, data] of [
      [() => new TinyCnn(), images],
      [() => new TinyAttention(), tokens],
    ] as const) {
      const eager = await run(make(), data(), { maxSteps: 10 });
      const compiled = await run(make(), data(), { maxSteps: 10, compile: true });
      assert.equal(compiled.compiled?.fallbackReason, null, make().constructor.name);
      assert.equal(compiled.compiled?.compiledCalls, 7);
      // bit for bit: the softmax goes through src/compile/cpu-equivalents.ts
      assertClose(compiled, eager, 0, 0);
    }
  });

  it('a step that reads a value back, whose JavaScript-made tensors change, that keeps a tensor or that optimizes manually runs eagerly after one warning', async () => {
    class ReadsBack extends Regressor {
      override trainingStep(batch: Batch) {
        const loss = this.trainLoss(batch);
        // data-dependent control flow: the branch taken depends on a value computed in the step
        return loss.dataSync()[0]! > 1e6 ? tf.mul(loss, 0) : loss;
      }
    }
    let seed = 0;
    class JsNoise extends Regressor {
      override trainingStep(batch: Batch) {
        // a dropout-like mask drawn in JavaScript: a new constant every step, never a compiled one
        const [x, y] = batch as tf.Tensor[];
        const mask = tf.randomUniform(x!.shape, 0.9, 1.1, 'float32', seed++);
        const loss = tf.losses.meanSquaredError(y!, this.forward(tf.mul(x!, mask))) as tf.Scalar;
        return loss;
      }
    }
    class KeepsPrediction extends Regressor {
      last: tf.Tensor | null = null;
      override trainingStep(batch: Batch) {
        const [x, y] = batch as tf.Tensor[];
        const pred = this.forward(x!);
        // kept for a callback to read: a compiled call would leave the traced step's prediction here
        this.last?.dispose();
        this.last = tf.keep(pred);
        return tf.losses.meanSquaredError(y!, pred) as tf.Scalar;
      }
    }
    class Manual extends Regressor {
      override automaticOptimization = false;
      override trainingStep(batch: Batch): Promise<tf.Scalar> {
        const [x, y] = batch as tf.Tensor[];
        const { loss, grads } = this.manualBackward(
          () => tf.losses.meanSquaredError(y!, this.forward(x!)) as tf.Scalar,
        );
        return this.manualStep(grads).then(() => loss);
      }
    }
    for (const [make, why] of [
      [() => new ReadsBack('adamw'), /reads 1 tensor\(s\) back/],
      [() => new JsNoise('sgd'), /two traces of the step differ/],
      [() => new KeepsPrediction('adamw'), /the step keeps 1 tensor\(s\) past its end \(tf\.keep\)/],
      [() => new Manual('adamw'), /manual optimization \(automaticOptimization = false\) is not compiled/],
    ] as const) {
      seed = 0;
      const eager = await run(make(), new TinyData(), { maxSteps: 10 });
      seed = 0;
      const compiled = await run(make(), new TinyData(), { maxSteps: 10, compile: true });
      assert.equal(compiled.warnings.length, 1, compiled.warnings.join(''));
      assert.match(compiled.warnings[0] as string, /^kiln: compile: running the training step eagerly: /);
      assert.match(compiled.warnings[0] as string, why);
      assert.equal(compiled.compiled?.compiledCalls, 0);
      assertClose(compiled, eager, 0, 0);
    }
  });
});

describe('Trainer option compile', () => {
  for (const [value, message] of [
    ['yes', /Trainer option "compile" must be a boolean or \{ xla\?: boolean, eval\?: boolean \}, got "yes"/],
    [
      { xla: 1 },
      /Trainer option "compile" must be a boolean or \{ xla\?: boolean, eval\?: boolean \} \("xla" is number\)/,
    ],
    [{ eval: 'yes' }, /Trainer option "compile" must be .* \("eval" is string\)/],
    [{ fast: true }, /unknown key "fast"/],
    [null, /Trainer option "compile" must be a boolean/],
  ] as const) {
    it(`rejects ${JSON.stringify(value)} naming the option`, () => {
      assert.throws(
        () => new Trainer({ compile: value as never }),
        (e: Error) => {
          assert.ok(e instanceof TrainerOptionError);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }
  it("rejects compile with a backend other than 'tensorflow'", () => {
    assert.throws(
      () => new Trainer({ compile: true, backend: 'cpu' }),
      /Trainer option "compile" needs backend 'tensorflow' \(or 'auto'\), got backend 'cpu'/,
    );
  });
});

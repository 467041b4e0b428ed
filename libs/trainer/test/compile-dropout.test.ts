// Random tensors in compiled steps (tensorflow backend): tfjs draws a dropout mask or noise in
// JavaScript, seeded with one Math.random() draw; the compiled step takes such draws as inputs and draws
// them again before every call from the same Math.random stream, so a seeded compiled run equals the
// eager run with the same seed: per-step losses and final weights, with dropout in a layer
// (tf.layers.dropout), called directly (tf.dropout, twice in one step), uniform jitter and normal and
// truncated-normal noise, no fallback. A value computed from Math.random() another way falls back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Batch, tf } from '../src/index.js';
import { assertClose, Regressor, run } from './fixtures/compiled.js';
import { TinyData } from './fixtures/tiny.js';

delete process.env.KILN_FORCE_BACKEND;
const skipNative = process.env.KILN_SKIP_NATIVE === '1' ? 'KILN_SKIP_NATIVE=1' : false;

/** The regressor with a dropout layer between its two dense layers. */
class LayerDropout extends Regressor {
  constructor() {
    super('adamw');
    this.net.dispose();
    this.net = tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [4],
          units: 8,
          activation: 'tanh',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        }),
        tf.layers.dropout({ rate: 0.3 }),
        tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
  }
}

/** tf.dropout on the input and on the prediction: two draws a step, of different shapes. */
class OpDropout extends Regressor {
  override trainingStep(batch: Batch) {
    const [x, y] = batch as tf.Tensor[];
    const pred = tf.dropout(this.forward(tf.dropout(x!, 0.2)), 0.1);
    const loss = tf.losses.meanSquaredError(y!, pred) as tf.Scalar;
    this.log('train/loss', loss, { onEpoch: true });
    return loss;
  }
}

/** Uniform jitter on the input and a VAE-style reparameterisation of the prediction. */
class Noise extends Regressor {
  override trainingStep(batch: Batch) {
    const [x, y] = batch as tf.Tensor[];
    const jitter = tf.randomUniform(x!.shape, 0.9, 1.1, 'float32');
    const mu = this.forward(tf.mul(x!, jitter));
    const eps = tf.randomNormal(mu.shape, 0, 1, 'float32');
    const z = tf.add(mu, tf.mul(eps, 0.05));
    const kick = tf.truncatedNormal(mu.shape, 0.2, 0.01, 'float32');
    return tf.losses.meanSquaredError(y!, tf.add(z, kick)) as tf.Scalar;
  }
}

/** A factor computed from Math.random() directly (no tfjs random op made it): not replayable. */
class RandomScale extends Regressor {
  override trainingStep(batch: Batch) {
    const [x, y] = batch as tf.Tensor[];
    const scale = 1 + 0.1 * Math.random();
    return tf.losses.meanSquaredError(y!, this.forward(tf.mul(x!, scale))) as tf.Scalar;
  }
}

describe('dropout in compiled steps (tensorflow backend)', { skip: skipNative }, () => {
  // 60 rows: 7 batches of 8 and one of 4 an epoch, 16 steps; traced: steps 1-3 and the batch of 4
  const data = () => new TinyData({ n: 60 });
  for (const [what, make] of [
    ['tf.layers.dropout', () => new LayerDropout()],
    ['tf.dropout twice a step', () => new OpDropout('adamw')],
    ['randomUniform(0.9, 1.1), randomNormal and truncatedNormal noise', () => new Noise('adamw')],
  ] as const) {
    it(`${what}: compiled equals eager with the same seed`, async () => {
      const opts = { maxEpochs: 2, seed: 11 };
      const eager = await run(make(), data(), opts);
      const compiled = await run(make(), data(), { ...opts, compile: true });
      assert.deepEqual(compiled.warnings, []);
      assert.equal(compiled.compiled?.fallbackReason, null);
      assert.equal(compiled.compiled?.compiledCalls, 11);
      assertClose(compiled, eager, 1e-5, 1e-5);
      // the masks differ between steps: no two consecutive losses of the same batch are equal
      const other = await run(make(), data(), { ...opts, seed: 12, compile: true });
      assert.notDeepEqual(other.losses, compiled.losses, 'another seed, other masks');
    });
  }

  it('a value computed from Math.random() that no random op made falls back, with the reason', async () => {
    const opts = { maxEpochs: 1, seed: 11 };
    const eager = await run(new RandomScale('adamw'), data(), opts);
    const compiled = await run(new RandomScale('adamw'), data(), { ...opts, compile: true });
    assert.equal(compiled.warnings.length, 1, compiled.warnings.join(''));
    assert.match(compiled.warnings[0] as string, /draws 1 random number\(s\) in JavaScript \(Math\.random\)/);
    assert.equal(compiled.compiled?.compiledCalls, 0);
    assertClose(compiled, eager, 0, 0);
  });
});

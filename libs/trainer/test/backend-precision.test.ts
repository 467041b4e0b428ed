import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/index.js';
import { DynamicLossScaler, PrecisionError, resolvePrecision } from '../src/precision/index.js';

// Selection is what these tests check: a forced backend (for running other suites) must not apply.
delete process.env.KILN_FORCE_BACKEND;

describe('resolvePrecision', () => {
  it("accepts '32' (and the number 32, and no value) on every backend", () => {
    for (const backend of ['cpu', 'wasm', 'tensorflow']) {
      assert.deepEqual(resolvePrecision('32', backend), {
        precision: '32',
        computeDtype: 'float32',
        lossScaling: false,
      });
      assert.equal(resolvePrecision(32, backend).precision, '32');
      assert.equal(resolvePrecision(undefined, backend).precision, '32');
    }
  });

  it('refuses 16-bit precisions naming the backend and the reason', () => {
    assert.throws(
      () => resolvePrecision('16-mixed', 'tensorflow'),
      (e: Error) => {
        assert.ok(e instanceof PrecisionError);
        assert.match(
          e.message,
          /precision '16-mixed' is not supported on the 'tensorflow' backend: tfjs-node 4.22 cannot hold float16/,
        );
        return true;
      },
    );
    assert.throws(
      () => resolvePrecision('bf16-mixed', 'wasm'),
      /'bf16-mixed' is not supported on the 'wasm' backend/,
    );
    assert.throws(
      () => resolvePrecision('16-mixed', 'webgl'),
      /'webgl' backend has no float16\/bfloat16 support/,
    );
  });

  it('names the field and the accepted values for an unknown precision', () => {
    assert.throws(
      () => resolvePrecision('fp8', 'cpu'),
      /'precision' must be one of '32' \| '16-mixed' \| 'bf16-mixed', got "fp8"/,
    );
  });

  it('matches what tfjs really supports: no float16 tensors at all', async () => {
    await selectBackend({ backend: 'cpu' });
    // biome-ignore lint/suspicious/noExplicitAny: probing an unsupported dtype on purpose
    assert.throws(() => tf.tensor([1, 2], [2], 'float16' as any));
  });
});

describe('DynamicLossScaler', () => {
  it('scales the loss and unscales finite gradients exactly', async () => {
    await selectBackend({ backend: 'cpu' });
    const s = new DynamicLossScaler({ initScale: 1024 });
    const scaled = s.scaleLoss(tf.scalar(0.5));
    assert.equal((await scaled.data())[0], 512);
    const { grads, finite } = await s.unscale({ w: tf.tensor([1024, -2048]), b: tf.tensor([512]) });
    assert.equal(finite, true);
    assert.deepEqual(Array.from(await (grads.w as tf.Tensor).data()), [1, -2]);
    assert.deepEqual(Array.from(await (grads.b as tf.Tensor).data()), [0.5]);
  });

  it('skips the step and halves the scale on overflow, grows after a clean run', async () => {
    await selectBackend({ backend: 'cpu' });
    const s = new DynamicLossScaler({ initScale: 8, growthInterval: 3 });
    const bad = await s.unscale({ w: tf.tensor([1, Number.POSITIVE_INFINITY]) });
    assert.equal(bad.finite, false);
    assert.equal(s.update(bad.finite), false);
    assert.equal(s.scale, 4);
    const nan = await s.unscale({ w: tf.tensor([Number.NaN]) });
    assert.equal(s.update(nan.finite), false);
    assert.equal(s.scale, 2);
    for (let i = 0; i < 3; i++) assert.equal(s.update(true), true);
    assert.equal(s.scale, 4);
    assert.deepEqual(s.state(), { scale: 4, goodSteps: 0, skippedSteps: 2 });
  });

  it('round-trips its state for checkpoints and rejects bad settings by name', () => {
    const a = new DynamicLossScaler();
    a.update(false);
    const b = new DynamicLossScaler();
    b.loadState(a.state());
    assert.deepEqual(b.state(), { scale: 2 ** 15, goodSteps: 0, skippedSteps: 1 });
    assert.throws(
      () => new DynamicLossScaler({ backoffFactor: 2 }),
      /'backoffFactor' must be a positive number <= 1, got 2/,
    );
    assert.throws(
      () => new DynamicLossScaler({ initScale: 0 }),
      /'initScale' must be a positive number, got 0/,
    );
  });

  it('leaves no tensors behind besides the ones it returns', async () => {
    await selectBackend({ backend: 'cpu' });
    const s = new DynamicLossScaler();
    const g = { w: tf.ones([4]) };
    const before = tf.memory().numTensors;
    const { grads } = await s.unscale(g);
    assert.equal(tf.memory().numTensors, before + 1);
    tf.dispose(grads);
  });
});

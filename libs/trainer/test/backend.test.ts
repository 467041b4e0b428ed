import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BackendOptionError, explainKernelError, selectBackend } from '../src/backend/index.js';

// These tests are about selection itself: a forced backend (for running other suites) must not apply.
delete process.env.KILN_FORCE_BACKEND;

describe('selectBackend', () => {
  it('activates the pure-JS cpu backend', async () => {
    const info = await selectBackend({ backend: 'cpu' });
    assert.equal(info.name, 'cpu');
    assert.equal(info.accelerator, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
  });

  it('activates the wasm backend and computes on it', async () => {
    const info = await selectBackend({ backend: 'wasm' });
    assert.equal(info.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2]));
    assert.deepEqual(Array.from(await y.data()), [3, 3, 3, 3]);
  });

  it('names the field and the expected values for bad options', async () => {
    await assert.rejects(
      // biome-ignore lint/suspicious/noExplicitAny: deliberately wrong input
      selectBackend({ backend: 'webgl' as any }),
      (e: Error) =>
        e instanceof BackendOptionError &&
        /'backend' must be 'tensorflow' \| 'webgpu' \| 'cpu' \| 'wasm' \| 'auto'/.test(e.message),
    );
    await assert.rejects(
      // biome-ignore lint/suspicious/noExplicitAny: deliberately wrong input
      selectBackend({ accelerator: 'tpu' as any }),
      /'accelerator' must be 'cpu' \| 'gpu' \| 'auto', got "tpu"/,
    );
    await assert.rejects(
      selectBackend({ backend: 'cpu', intraOpThreads: 0 }),
      /'intraOpThreads' must be a positive integer, got 0/,
    );
    await assert.rejects(
      selectBackend({ accelerator: 'gpu', backend: 'wasm' }),
      /'backend' must be 'tensorflow', 'webgpu' or 'auto' when accelerator is 'gpu'/,
    );
  });

  it('KILN_FORCE_BACKEND replaces the backend asked for, and must name a real one', async () => {
    process.env.KILN_FORCE_BACKEND = 'wasm';
    try {
      assert.equal((await selectBackend({ backend: 'cpu' })).name, 'wasm');
      process.env.KILN_FORCE_BACKEND = 'webgl';
      await assert.rejects(
        selectBackend({ backend: 'cpu' }),
        /'KILN_FORCE_BACKEND \(environment\)' must be 'tensorflow' \| 'webgpu' \| 'cpu' \| 'wasm', got "webgl"/,
      );
    } finally {
      delete process.env.KILN_FORCE_BACKEND;
    }
  });

  it('a GPU without tfjs-node-gpu is a clear error with the install command', async () => {
    await assert.rejects(selectBackend({ accelerator: 'gpu' }), (e: Error) => {
      assert.match(
        e.message,
        /backend 'tensorflow \(gpu\)' is not available: the package @tensorflow\/tfjs-node-gpu is not installed/,
      );
      assert.match(e.message, /Install it with: bash scripts\/tensorflow\/install.sh --gpu/);
      return true;
    });
  });
});

describe('explainKernelError', () => {
  it('names the kernel, the backend and the fix', () => {
    const e = explainKernelError(
      new Error("Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'"),
      'wasm',
    );
    assert.match(e.message, /kernel 'Conv2DBackpropFilter' is not implemented by the 'wasm' backend/);
    assert.match(e.message, /use backend 'tensorflow' or 'cpu'/);
  });

  it('explains the real failure of training a convolution on wasm', async () => {
    await selectBackend({ backend: 'wasm' });
    const x = tf.ones([1, 5, 5, 1]) as tf.Tensor4D;
    const w = tf.variable(tf.ones([3, 3, 1, 1]));
    let caught: unknown;
    try {
      tf.variableGrads(() => tf.conv2d(x, w as tf.Tensor4D, 1, 'valid').sum());
    } catch (err) {
      caught = err;
    }
    assert.ok(caught, 'conv2d backprop on wasm should fail');
    assert.match(explainKernelError(caught, 'wasm').message, /Conv2DBackpropFilter.*'wasm' backend/);
  });

  it('passes other errors through unchanged', () => {
    const original = new Error('shapes do not match');
    assert.equal(explainKernelError(original, 'cpu'), original);
  });
});

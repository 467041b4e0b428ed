// Kiln's optimizers against tfjs's own and against the update rules written out in float64, on the
// pure-JS cpu backend (plain tfjs ops) and on native TensorFlow (fused ResourceApply* ops).
// KILN_SKIP_NATIVE=1 skips the native half, as in backend-native.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/index.js';
import { Adam, AdamW, nativeOpCount, SGD } from '../src/optim/index.js';
import { setLearningRate } from '../src/optim/lr.js';
import { lcg64 as lcg } from './fixtures/lcg.js';

delete process.env.KILN_FORCE_BACKEND;
const skipNative = process.env.KILN_SKIP_NATIVE === '1' ? 'KILN_SKIP_NATIVE=1' : false;

const SHAPES = [[37, 19], [19], [3, 4, 5]];
const STEPS = 6;
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
/** float32 values as the reference starts from them (the variables hold float32) */
const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
const init = SHAPES.map((s, i) => f32(lcg(size(s), 11 + i, 2)));
/** gradients of step k; some entries large, some tiny, a few exactly zero */
const grad = (k: number, i: number) =>
  f32(lcg(size(SHAPES[i] as number[]), 1000 * (k + 1) + i, 4).map((g, j) => (j % 17 === 0 ? 0 : g)));
/** the learning rate at step k: changed mid-run through the field LR schedulers set */
const lrAt = (base: number, k: number) => (k < 3 ? base : base * 0.5);

let uid = 0;
function makeVars(): tf.Variable[] {
  uid++;
  return SHAPES.map((s, i) =>
    tf.variable(tf.tensor(Float32Array.from(init[i] as Float64Array), s), true, `optim_t${uid}_${i}`),
  );
}

/** Runs STEPS steps of `opt` from the shared initial weights and returns the final weights. */
function train(opt: tf.Optimizer, base: number): Float64Array[] {
  const vars = makeVars();
  for (let k = 0; k < STEPS; k++) {
    setLearningRate(opt, lrAt(base, k)); // how the LR schedulers set it
    const grads = Object.fromEntries(
      vars.map((v, i) => [v.name, tf.tensor(Float32Array.from(grad(k, i)), v.shape)]),
    );
    opt.applyGradients(grads);
    tf.dispose(Object.values(grads));
  }
  const out = vars.map((v) => Float64Array.from(v.dataSync()));
  tf.dispose(vars);
  opt.dispose();
  return out;
}

interface AdamRef {
  lr: number;
  b1: number;
  b2: number;
  eps: number;
  wd: number;
  decoupled: boolean;
}

/** torch.optim.Adam / AdamW, written out in float64. */
function adamRef(o: AdamRef): Float64Array[] {
  return init.map((p0, i) => {
    const p = Float64Array.from(p0);
    const m = new Float64Array(p.length);
    const v = new Float64Array(p.length);
    for (let k = 0; k < STEPS; k++) {
      const t = k + 1;
      const lr = lrAt(o.lr, k);
      const g = grad(k, i);
      for (let j = 0; j < p.length; j++) {
        let gj = g[j] as number;
        if (o.decoupled) p[j] = (p[j] as number) * (1 - lr * o.wd);
        else gj += o.wd * (p[j] as number);
        m[j] = o.b1 * (m[j] as number) + (1 - o.b1) * gj;
        v[j] = o.b2 * (v[j] as number) + (1 - o.b2) * gj * gj;
        const mHat = (m[j] as number) / (1 - o.b1 ** t);
        const vHat = (v[j] as number) / (1 - o.b2 ** t);
        p[j] = (p[j] as number) - (lr * mHat) / (Math.sqrt(vHat) + o.eps);
      }
    }
    return p;
  });
}

/** torch.optim.SGD (dampening 0), written out in float64. */
function sgdRef(o: { lr: number; momentum: number; nesterov: boolean; wd: number }): Float64Array[] {
  return init.map((p0, i) => {
    const p = Float64Array.from(p0);
    const buf = new Float64Array(p.length);
    for (let k = 0; k < STEPS; k++) {
      const lr = lrAt(o.lr, k);
      const g = grad(k, i);
      for (let j = 0; j < p.length; j++) {
        const gj = (g[j] as number) + o.wd * (p[j] as number);
        let upd = gj;
        if (o.momentum > 0) {
          buf[j] = k === 0 ? gj : o.momentum * (buf[j] as number) + gj;
          upd = o.nesterov ? gj + o.momentum * (buf[j] as number) : (buf[j] as number);
        }
        p[j] = (p[j] as number) - lr * upd;
      }
    }
    return p;
  });
}

function maxDiff(a: Float64Array[], b: Float64Array[]): number {
  let m = 0;
  a.forEach((x, i) => {
    const y = b[i] as Float64Array;
    for (let j = 0; j < x.length; j++) m = Math.max(m, Math.abs((x[j] as number) - (y[j] as number)));
  });
  return m;
}

// The steps move weights by ~1e-3 each (lr 1e-3 to 1e-2): 1e-6 catches any wrong term of an update rule
// (a missed bias correction alone is off by 1e-3), and float32 rounding stays well inside it.
const ATOL = 1e-6;

function agree(label: string, got: Float64Array[], want: Float64Array[]): void {
  const d = maxDiff(got, want);
  assert.ok(d <= ATOL, `${label}: max |difference| ${d}`);
  // and the weights did move: a no-op optimizer must not pass
  assert.ok(maxDiff(got, init) > 1e-3, `${label}: weights barely moved (${maxDiff(got, init)})`);
}

for (const backend of ['cpu', 'tensorflow'] as const) {
  describe(`optimizers on the ${backend} backend`, { skip: backend === 'tensorflow' && skipNative }, () => {
    it('selects the backend', async () => {
      await selectBackend({ backend });
      assert.equal(tf.getBackend(), backend);
    });

    it('Adam matches tf.train.adam and torch.optim.Adam written out', async () => {
      await selectBackend({ backend });
      const kiln = train(new Adam({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8 }), 1e-3);
      agree('vs tf.train.adam', kiln, train(tf.train.adam(1e-3, 0.9, 0.999, 1e-8), 1e-3));
      agree(
        'vs closed form',
        kiln,
        adamRef({ lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, decoupled: false }),
      );
      const odd = { lr: 3e-3, b1: 0.8, b2: 0.95, eps: 1e-3, wd: 0, decoupled: false };
      agree(
        'betas 0.8/0.95, eps 1e-3',
        train(new Adam({ lr: 3e-3, betas: [0.8, 0.95], eps: 1e-3 }), 3e-3),
        adamRef(odd),
      );
    });

    it('Adam with weightDecay (L2 in the gradient) and AdamW (decoupled) match their closed forms', async () => {
      await selectBackend({ backend });
      const base = { lr: 2e-3, b1: 0.9, b2: 0.999, eps: 1e-8 };
      agree(
        'Adam weightDecay 0.1',
        train(new Adam({ lr: 2e-3, weightDecay: 0.1 }), 2e-3),
        adamRef({ ...base, wd: 0.1, decoupled: false }),
      );
      const adamw = train(new AdamW({ lr: 2e-3, weightDecay: 0.1 }), 2e-3);
      agree('AdamW weightDecay 0.1', adamw, adamRef({ ...base, wd: 0.1, decoupled: true }));
      // decoupled decay really differs from L2 decay: the test can tell them apart
      assert.ok(maxDiff(adamw, adamRef({ ...base, wd: 0.1, decoupled: false })) > 1e-5);
      agree(
        'AdamW default decay',
        train(new AdamW({ lr: 2e-3 }), 2e-3),
        adamRef({ ...base, wd: 1e-2, decoupled: true }),
      );
    });

    it('SGD, momentum and Nesterov match tf.train.sgd / tf.train.momentum and torch.optim.SGD', async () => {
      await selectBackend({ backend });
      const lr = 1e-2;
      const plain = train(new SGD({ lr }), lr);
      agree('sgd vs tf.train.sgd', plain, train(tf.train.sgd(lr), lr));
      agree('sgd vs closed form', plain, sgdRef({ lr, momentum: 0, nesterov: false, wd: 0 }));
      const mom = train(new SGD({ lr, momentum: 0.9 }), lr);
      agree('momentum vs tf.train.momentum', mom, train(tf.train.momentum(lr, 0.9), lr));
      agree('momentum vs closed form', mom, sgdRef({ lr, momentum: 0.9, nesterov: false, wd: 0 }));
      const nes = train(new SGD({ lr, momentum: 0.9, nesterov: true }), lr);
      agree('nesterov vs tf.train.momentum', nes, train(tf.train.momentum(lr, 0.9, true), lr));
      agree('nesterov vs closed form', nes, sgdRef({ lr, momentum: 0.9, nesterov: true, wd: 0 }));
      agree(
        'momentum + weightDecay',
        train(new SGD({ lr, momentum: 0.5, weightDecay: 0.05 }), lr),
        sgdRef({ lr, momentum: 0.5, nesterov: false, wd: 0.05 }),
      );
    });

    it('keeps the tensor count flat across steps (scalars cached, slots made once)', async () => {
      await selectBackend({ backend });
      const vars = makeVars();
      const opt = new AdamW({ lr: 1e-3 });
      const step = () => {
        const grads = Object.fromEntries(
          vars.map((v, i) => [v.name, tf.tensor(Float32Array.from(grad(0, i)), v.shape)]),
        );
        opt.applyGradients(grads);
        tf.dispose(Object.values(grads));
      };
      step();
      const after1 = tf.memory().numTensors;
      for (let k = 0; k < 5; k++) step();
      assert.equal(tf.memory().numTensors, after1);
      opt.dispose();
      tf.dispose(vars);
    });
  });
}

describe('a backend switch under a live optimizer', { skip: skipNative }, () => {
  it('carries the slots over (3 steps on cpu, 3 on tensorflow, as 6 in one place)', async () => {
    await selectBackend({ backend: 'cpu' });
    const vars = makeVars();
    const opt = new Adam({ lr: 1e-3 });
    for (let k = 0; k < STEPS; k++) {
      if (k === STEPS / 2) await selectBackend({ backend: 'tensorflow' });
      setLearningRate(opt, lrAt(1e-3, k));
      const grads = Object.fromEntries(
        vars.map((v, i) => [v.name, tf.tensor(Float32Array.from(grad(k, i)), v.shape)]),
      );
      opt.applyGradients(grads);
      tf.dispose(Object.values(grads));
    }
    const before = nativeOpCount();
    await opt
      .getWeights()
      .then((ws) => tf.dispose(ws.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable))));
    assert.ok(nativeOpCount() > before, 'the slots live in TensorFlow after the switch');
    const got = vars.map((v) => Float64Array.from(v.dataSync()));
    agree(
      'cpu then tensorflow',
      got,
      adamRef({ lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0, decoupled: false }),
    );
    opt.dispose();
    tf.dispose(vars);
  });
});

describe('on native TensorFlow the step is fused', { skip: skipNative }, () => {
  it('Adam runs no tfjs kernels and two TensorFlow ops per parameter (tfjs: a dozen each)', async () => {
    await selectBackend({ backend: 'tensorflow' });
    const vars = makeVars();
    const grads = Object.fromEntries(
      vars.map((v, i) => [v.name, tf.tensor(Float32Array.from(grad(0, i)), v.shape)]),
    );
    const count = async (opt: tf.Optimizer) => {
      opt.applyGradients(grads); // slots made on the first step
      const before = nativeOpCount();
      const prof = await tf.profile(() => opt.applyGradients(grads));
      const raw = nativeOpCount() - before;
      opt.dispose();
      return { kernels: prof.kernels.length, raw };
    };
    const kiln = await count(new Adam({ lr: 1e-3 }));
    assert.deepEqual(kiln, { kernels: 0, raw: 2 * SHAPES.length });
    const tfjs = await count(tf.train.adam(1e-3));
    assert.ok(tfjs.kernels >= 10 * SHAPES.length, `tf.train.adam ran ${tfjs.kernels} kernels`);
    tf.dispose([...vars, ...Object.values(grads)]);
  });
});

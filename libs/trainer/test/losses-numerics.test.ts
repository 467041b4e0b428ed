// Kiln's losses against tfjs's own and against the closed form in float64, on the pure-JS cpu
// backend (tfjs ops) and on native TensorFlow (the fused softmax-cross-entropy op with a custom
// gradient). KILN_SKIP_NATIVE=1 skips the native half, as in backend-native.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/index.js';
import { crossEntropy, LossArgumentError, mse, nativeLossOpCount } from '../src/losses/index.js';
import { Adam } from '../src/optim/index.js';
import { lcg } from './fixtures/lcg.js';

delete process.env.KILN_FORCE_BACKEND;
const skipNative = process.env.KILN_SKIP_NATIVE === '1' ? 'KILN_SKIP_NATIVE=1' : false;
const TOL = 1e-5;

const N = 24;
const C = 7;
const logitsData = lcg(N * C, 3, 8);
const labelData = Int32Array.from({ length: N }, (_, i) => (i * 5 + 2) % C);

/** Per-example loss and d(loss_i)/d(logits_i) in float64: logsumexp − x[y]; softmax − onehot. */
function closedForm(x: Float32Array, target: (i: number, c: number) => number) {
  const loss: number[] = [];
  const grad = new Float64Array(N * C);
  for (let i = 0; i < N; i++) {
    const row = Array.from(x.subarray(i * C, (i + 1) * C));
    const m = Math.max(...row);
    const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
    let l = 0;
    for (let c = 0; c < C; c++) {
      const logp = (row[c] as number) - m - Math.log(z);
      l -= target(i, c) * logp;
      grad[i * C + c] = Math.exp(logp) - target(i, c);
    }
    loss.push(l);
  }
  return { loss, grad };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++)
    assert.ok(
      Math.abs((actual[i] as number) - (expected[i] as number)) <= TOL,
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
}

/** The loss's value and its gradient with respect to the logits. */
function valueAndGrad(loss: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor) {
  const { value, grad } = tf.valueAndGrad((z: tf.Tensor) => tf.sum(loss(z)) as tf.Scalar)(x);
  const out = { value: Array.from(value.dataSync()), grad: Array.from(grad.dataSync()) };
  tf.dispose([value, grad]);
  return out;
}

const oneHot = (i: number, c: number) => (labelData[i] === c ? 1 : 0);
const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);

for (const backend of ['cpu', 'tensorflow'] as const) {
  describe(`losses on the ${backend} backend`, { skip: backend === 'tensorflow' && skipNative }, () => {
    it('selects the backend', async () => {
      await selectBackend({ backend });
      assert.equal(tf.getBackend(), backend);
    });

    it('sparse cross entropy matches tf.losses.softmaxCrossEntropy and the closed form (mean)', async () => {
      await selectBackend({ backend });
      const x = tf.tensor2d(logitsData, [N, C]);
      const y = tf.tensor1d(labelData, 'int32');
      const ours = valueAndGrad((z) => crossEntropy(z, y), x);
      const theirs = valueAndGrad((z) => tf.losses.softmaxCrossEntropy(tf.oneHot(y, C), z), x);
      const ref = closedForm(logitsData, oneHot);
      assertClose(ours.value, theirs.value, 'value vs tfjs');
      assertClose(ours.grad, theirs.grad, 'grad vs tfjs');
      assertClose(ours.value, [sum(ref.loss) / N], 'value vs closed form');
      assertClose(
        ours.grad,
        ref.grad.map((g) => g / N),
        'grad vs closed form',
      );
      tf.dispose([x, y]);
    });

    it("reductions 'sum' and 'none', float labels, extra batch axes", async () => {
      await selectBackend({ backend });
      const ref = closedForm(logitsData, oneHot);
      const x = tf.tensor3d(logitsData, [4, N / 4, C]);
      const yInt = tf.tensor2d(labelData, [4, N / 4], 'int32');
      const yFloat = yInt.toFloat();
      const summed = valueAndGrad((z) => crossEntropy(z, yFloat, { reduction: 'sum' }), x);
      assertClose(summed.value, [sum(ref.loss)], 'sum value');
      assertClose(summed.grad, ref.grad, 'sum grad');
      const none = crossEntropy(x, yInt, { reduction: 'none' });
      assert.deepEqual(none.shape, [4, N / 4]);
      assertClose(none.dataSync(), ref.loss, 'none values');
      // a weighted sum of the per-example losses: the gradient must carry each weight to its row
      const w = tf.tensor2d(lcg(N, 9, 2), [4, N / 4]);
      const weighted = valueAndGrad((z) => tf.mul(crossEntropy(z, yInt, { reduction: 'none' }), w), x);
      const wd = w.dataSync();
      assertClose(
        weighted.grad,
        ref.grad.map((g, k) => g * (wd[Math.floor(k / C)] as number)),
        'none grad, weighted',
      );
      tf.dispose([x, yInt, yFloat, none, w]);
    });

    it('one-hot and probability labels (dense)', async () => {
      await selectBackend({ backend });
      const probs = Float32Array.from(lcg(N * C, 5, 1).map((v) => v + 0.6));
      for (let i = 0; i < N; i++) {
        const row = probs.subarray(i * C, (i + 1) * C);
        const s = row.reduce((a, v) => a + v, 0);
        for (let c = 0; c < C; c++) row[c] = (row[c] as number) / s;
      }
      const ref = closedForm(logitsData, (i, c) => probs[i * C + c] as number);
      const x = tf.tensor2d(logitsData, [N, C]);
      const p = tf.tensor2d(probs, [N, C]);
      const ours = valueAndGrad((z) => crossEntropy(z, p), x);
      assertClose(ours.value, [sum(ref.loss) / N], 'probabilities value');
      assertClose(
        ours.grad,
        ref.grad.map((g) => g / N),
        'probabilities grad',
      );
      const hot = tf.oneHot(tf.tensor1d(labelData, 'int32'), C).toFloat();
      const sparse = crossEntropy(x, tf.tensor1d(labelData, 'int32'));
      assertClose(crossEntropy(x, hot).dataSync(), sparse.dataSync(), 'one-hot vs sparse');
      tf.dispose([x, p, hot, sparse]);
    });

    it('mse matches the closed form for each reduction', async () => {
      await selectBackend({ backend });
      const pd = lcg(N * 3, 21, 4);
      const td = lcg(N * 3, 22, 4);
      const p = tf.tensor2d(pd, [N, 3]);
      const t = tf.tensor2d(td, [N, 3]);
      const diff = Array.from(pd, (v, i) => v - (td[i] as number));
      const mean = valueAndGrad((z) => mse(z, t), p);
      assertClose(mean.value, [sum(diff.map((d) => d * d)) / diff.length], 'mse mean');
      assertClose(
        mean.grad,
        diff.map((d) => (2 * d) / diff.length),
        'mse mean grad',
      );
      assertClose(mse(p, t, { reduction: 'sum' }).dataSync(), [sum(diff.map((d) => d * d))], 'mse sum');
      const none = mse(p, t, { reduction: 'none' });
      assert.deepEqual(none.shape, [N, 3]);
      assertClose(
        none.dataSync(),
        diff.map((d) => d * d),
        'mse none',
      );
      tf.dispose([p, t, none]);
    });

    it('bad input is an error naming the argument', async () => {
      await selectBackend({ backend });
      const x = tf.tensor2d(logitsData, [N, C]);
      const bad = (f: () => unknown, re: RegExp) =>
        assert.throws(f, (e: unknown) => e instanceof LossArgumentError && re.test(e.message));
      const out = tf.tensor1d(
        labelData.map((v, i) => (i === 5 ? C : v)),
        'int32',
      );
      bad(() => crossEntropy(x, out), /labels must be class indices in \[0, 7\).*got 7 at flat index 5/);
      const neg = tf.tensor1d(
        labelData.map((v, i) => (i === 2 ? -1 : v)),
        'int32',
      );
      bad(() => crossEntropy(x, neg), /labels must be class indices in \[0, 7\).*got -1/);
      const frac = tf.tensor1d(Float32Array.from(labelData, (v, i) => (i === 3 ? 1.5 : v)));
      bad(() => crossEntropy(x, frac), /labels must be integer class indices, got 1.5/);
      bad(
        () => crossEntropy(x, tf.zeros([N + 1], 'int32')),
        /labels must be class indices of shape \[24\].*got \[25\]/,
      );
      bad(() => crossEntropy(x, tf.zeros([N, C], 'int32')), /one-hot labels must be float32, got int32/);
      bad(() => crossEntropy(x, tf.zeros([N], 'bool')), /class-index labels must be int32, got bool/);
      bad(
        () => crossEntropy(x, tf.zeros([N], 'int32'), { reduction: 'avg' as never }),
        /options\.reduction must be one of 'mean', 'sum', 'none', got "avg"/,
      );
      bad(() => crossEntropy(x.toInt(), tf.zeros([N], 'int32')), /logits must be float32, got int32/);
      bad(
        () => crossEntropy([1, 2] as never, tf.zeros([N], 'int32')),
        /logits must be a tf.Tensor, got an array/,
      );
      bad(
        () => mse(x, tf.zeros([N])),
        /mse: targets must have the shape of predictions \[24, 7\], got \[24\]/,
      );
      bad(() => mse(x, x, { reduction: 'MEAN' as never }), /mse: options.reduction must be one of/);
      tf.dispose([x, out, neg, frac]);
    });

    it('trains without leaking tensors across steps', async () => {
      await selectBackend({ backend });
      const w = tf.variable(tf.tensor2d(lcg(10 * C, 31, 0.5), [10, C]), true, `losses_leak_${backend}`);
      const x = tf.tensor2d(lcg(N * 10, 32, 2), [N, 10]);
      const y = tf.tensor1d(labelData, 'int32');
      const opt = new Adam({ lr: 0.05 });
      const step = () => {
        const loss = opt.minimize(() => crossEntropy(tf.matMul(x, w), y) as tf.Scalar, true, [
          w,
        ]) as tf.Scalar;
        const v = loss.dataSync()[0] as number;
        loss.dispose();
        return v;
      };
      const first = step();
      step(); // optimizer slots are created on the first steps
      const before = tf.memory().numTensors;
      let last = first;
      for (let k = 0; k < 20; k++) last = step();
      assert.equal(tf.memory().numTensors, before, 'tensors after 20 more steps');
      assert.ok(last < first * 0.8, `loss falls while training: ${first} → ${last}`);
      opt.dispose();
      tf.dispose([w, x, y]);
    });
  });
}

describe('kernels per loss step on the tensorflow backend', { skip: skipNative }, () => {
  it("counts fewer kernels (tfjs + raw TF) than tfjs's softmaxCrossEntropy", async () => {
    await selectBackend({ backend: 'tensorflow' });
    const x = tf.tensor2d(logitsData, [N, C]);
    const y = tf.tensor1d(labelData, 'int32');
    const count = async (loss: (z: tf.Tensor) => tf.Tensor) => {
      const g = tf.valueAndGrad((z: tf.Tensor) => loss(z) as tf.Scalar);
      const raw = nativeLossOpCount();
      const info = await tf.profile(() => {
        const r = g(x);
        return [r.value, r.grad];
      });
      return info.kernels.length + (nativeLossOpCount() - raw);
    };
    const ours = await count((z) => crossEntropy(z, y));
    const theirs = await count((z) => tf.losses.softmaxCrossEntropy(tf.oneHot(y, C), z));
    assert.ok(ours < theirs / 2, `kernels for value + gradient: Kiln ${ours}, tfjs ${theirs}`);
    tf.dispose([x, y]);
  });
});

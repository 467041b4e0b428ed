// The native `tensorflow` backend (tfjs-node built by scripts/tensorflow/install.sh) against the
// pure-JS reference. These tests fail when the addon is missing: CI builds it. KILN_SKIP_NATIVE=1 skips
// them deliberately, for machines that cannot build it (no C++ toolchain, no PyPI).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend/index.js';
import { lcg } from './fixtures/lcg.js';

// Selection is what these tests check: a forced backend (for running other suites) must not apply.
delete process.env.KILN_FORCE_BACKEND;

const skip =
  process.env.KILN_SKIP_NATIVE === '1' ? 'KILN_SKIP_NATIVE=1: native TensorFlow not built here' : false;
const backendIndex = fileURLToPath(new URL('../src/backend/index.ts', import.meta.url));

const mlp = () =>
  tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: 256, activation: 'relu' }),
      tf.layers.dense({ units: 10 }),
    ],
  });

const cnn = () =>
  tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10 }),
    ],
  });

interface StepResult {
  lossBefore: number;
  lossAfter: number;
  weights: Float32Array[];
}

/** One Adam step from fixed weights and data on one backend; returns losses and updated weights. */
async function oneStep(
  backend: 'cpu' | 'tensorflow',
  build: () => tf.Sequential,
  inputShape: number[],
  init: Float32Array[],
): Promise<StepResult> {
  await selectBackend({ backend });
  assert.equal(tf.getBackend(), backend);
  const model = build();
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(init[i] as Float32Array, w.shape)));
  const batch = 32;
  const x = tf.tensor(lcg(batch * inputShape.reduce((a, b) => a * b, 1), 7, 2), [batch, ...inputShape]);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: batch }, (_, i) => (i * 7) % 10),
      'int32',
    ),
    10,
  );
  const lossFn = () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar;
  const opt = tf.train.adam(1e-3);
  const before = opt.minimize(lossFn, true) as tf.Scalar;
  const after = lossFn();
  const result = {
    lossBefore: (await before.data())[0] as number,
    lossAfter: (await after.data())[0] as number,
    weights: model.getWeights().map((w) => w.dataSync() as Float32Array),
  };
  tf.dispose([x, y, before, after]);
  opt.dispose();
  model.dispose();
  return result;
}

/** The largest absolute difference, and how many elements differ by more than `atol`. */
function compareWeights(
  a: Float32Array[],
  b: Float32Array[],
  atol: number,
): { max: number; over: number; n: number } {
  let max = 0;
  let over = 0;
  let n = 0;
  a.forEach((arr, i) => {
    const other = b[i] as Float32Array;
    for (let j = 0; j < arr.length; j++) {
      const d = Math.abs((arr[j] as number) - (other[j] as number));
      max = Math.max(max, d);
      if (d > atol) over++;
      n++;
    }
  });
  return { max, over, n };
}

// Tolerances: float32 sums in a different order (oneDNN/Eigen vs JS loops) move the loss by ~1e-6
// relative. Adam's first update is lr·g/(|g|+ε) (lr 1e-3), about lr·sign(g): nearly every weight
// must agree to 1e-5. Where a gradient is near ε, a rounding difference in g (the conv's sum order
// depends on the CPU's vector width) shifts that weight's update by a few percent of lr, so a few
// elements may differ by up to 1e-4; a wrong sign or a wrong update rule moves weights by ~1e-3.
const LOSS_RTOL = 1e-5;
const WEIGHT_ATOL = 1e-5;
const WEIGHT_ATOL_FEW = 1e-4;
const FEW = 1e-3;

describe('tensorflow backend (native)', { skip }, () => {
  it('loads, shares the one tfjs engine, and says which TensorFlow it runs', async () => {
    const info = await selectBackend({ backend: 'tensorflow' }).catch((err: Error) => {
      throw new Error(`${err.message}\n(CI must run scripts/tensorflow/install.sh before these tests)`);
    });
    assert.equal(info.name, 'tensorflow');
    assert.equal(info.accelerator, 'cpu');
    assert.match(info.device, /^cpu \(TensorFlow 2\.\d+\.\d+ through @tensorflow\/tfjs-node 4\.\d+\.\d+\)$/);
    // One copy of tfjs-core: the one tfjs-node registers its backend with is the one Kiln imports.
    const fromKiln = createRequire(import.meta.url).resolve('@tensorflow/tfjs-core');
    const tfjsNode = createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    assert.equal(createRequire(tfjsNode).resolve('@tensorflow/tfjs-core'), fromKiln);
    // A tensor made through Kiln's tf runs on the native kernels: one engine, not two copies of tfjs-core.
    const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2]));
    assert.equal(tf.engine().backendName, 'tensorflow');
    assert.deepEqual(Array.from(await y.data()), [3, 3, 3, 3]);
  });

  it('runs the TensorFlow libraries from the wheel, found through the addon rpath (no LD_LIBRARY_PATH)', async () => {
    await selectBackend({ backend: 'tensorflow' });
    const maps = readFileSync('/proc/self/maps', 'utf8');
    const libs = [
      ...new Set(
        maps
          .split('\n')
          .map((l) => l.split(/\s+/)[5] ?? '')
          .filter((p) => /libtensorflow/.test(p)),
      ),
    ];
    assert.ok(
      libs.some((p) => p.endsWith('/libtensorflow_cc.so.2')),
      `loaded: ${libs.join(', ')}`,
    );
    assert.ok(
      libs.some((p) => p.endsWith('/libtensorflow_framework.so.2')),
      `loaded: ${libs.join(', ')}`,
    );
    const addonDeps = realpathSync(
      fileURLToPath(new URL('../../../node_modules/@tensorflow/tfjs-node/deps/lib', import.meta.url)),
    );
    for (const p of libs) assert.equal(dirname(p), addonDeps, `${p} should come from tfjs-node's deps/lib`);
  });

  it('auto picks tensorflow when it is installed', async () => {
    const info = await selectBackend({ accelerator: 'cpu' });
    assert.equal(info.name, 'tensorflow');
  });

  it('auto keeps the device native TensorFlow was loaded for, however often it is asked', async () => {
    for (let i = 0; i < 2; i++) {
      const info = await selectBackend({ accelerator: 'auto' });
      assert.equal(info.name, 'tensorflow');
      assert.equal(info.accelerator, 'cpu');
    }
  });

  for (const [name, build, shape] of [
    ['MLP 784-256-10', mlp, [784]],
    ['CNN 28x28 (2 conv, 2 pool, dense)', cnn, [28, 28, 1]],
  ] as const) {
    it(`one Adam step of the ${name} agrees with the cpu backend`, async () => {
      await selectBackend({ backend: 'cpu' });
      const seedModel = build();
      // Glorot init on the cpu backend, then the exact same numbers on both backends.
      const init = seedModel.getWeights().map((w) => w.dataSync() as Float32Array);
      seedModel.dispose();
      const ref = await oneStep('cpu', build, [...shape], init);
      const nat = await oneStep('tensorflow', build, [...shape], init);
      assert.ok(
        Math.abs(ref.lossBefore - nat.lossBefore) <= LOSS_RTOL * Math.abs(ref.lossBefore),
        `loss cpu ${ref.lossBefore} vs tensorflow ${nat.lossBefore}`,
      );
      assert.ok(
        Math.abs(ref.lossAfter - nat.lossAfter) <= LOSS_RTOL * Math.abs(ref.lossAfter),
        `loss after step cpu ${ref.lossAfter} vs tensorflow ${nat.lossAfter}`,
      );
      assert.ok(nat.lossAfter < nat.lossBefore, 'the step should lower the loss on the same batch');
      const { max, over, n } = compareWeights(ref.weights, nat.weights, WEIGHT_ATOL);
      assert.ok(max <= WEIGHT_ATOL_FEW, `updated weights differ by ${max}`);
      assert.ok(over <= FEW * n, `${over} of ${n} updated weights differ by more than ${WEIGHT_ATOL}`);
    });
  }

  it('sets TensorFlow thread pools from intraOpThreads/interOpThreads (thread count of the process)', () => {
    // Thread pools are fixed when TensorFlow first loads, so each setting needs its own process.
    const threads = (intra: number, inter: number): number => {
      const code = `
        const { selectBackend } = await import(${JSON.stringify(backendIndex)});
        const tf = await import('@tensorflow/tfjs');
        const { readdirSync } = await import('node:fs');
        const before = readdirSync('/proc/self/task').length;
        await selectBackend({ backend: 'tensorflow', intraOpThreads: ${intra}, interOpThreads: ${inter} });
        const a = tf.randomNormal([256, 256]);
        tf.matMul(a, a).dataSync();
        console.log('THREADS', readdirSync('/proc/self/task').length - before);`;
      const r = spawnSync(
        process.execPath,
        [
          '--conditions=kiln-src',
          '--import',
          '@swc-node/register/esm-register',
          '--input-type=module',
          '-e',
          code,
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, TF_NUM_INTRAOP_THREADS: '', TF_NUM_INTEROP_THREADS: '', NODE_OPTIONS: '' },
        },
      );
      const m = /THREADS (\d+)/.exec(r.stdout);
      assert.ok(m, `child failed: ${r.stderr}`);
      return Number(m[1]);
    };
    const small = threads(1, 1);
    const large = threads(4, 4);
    // Threads TensorFlow added while loading: one per pool slot, so 3 more intra-op and 3 more inter-op.
    assert.ok(large - small >= 6, `threads TensorFlow started with 1/1 pools: ${small}, with 4/4: ${large}`);
  });

  it('refuses to change thread pools after TensorFlow has loaded in this process', async () => {
    const info = await selectBackend({ backend: 'tensorflow' });
    const other = (info.intraOpThreads ?? 1) + 1;
    await assert.rejects(
      selectBackend({ backend: 'tensorflow', intraOpThreads: other }),
      /'intraOpThreads' must be .*fixes thread pools when it first loads/,
    );
  });
});

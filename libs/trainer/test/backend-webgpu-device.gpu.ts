// The `webgpu` backend where Dawn finds an adapter: selection, per-step losses against the cpu backend
// within float32 tolerance (Kiln's Adam and crossEntropy in their tfjs forms), and checkpoints moving
// between the two. It needs a GPU, so it is not a *.test.ts file (CI has none and does not collect it);
// scripts/gpu/run.sh runs it on the GPU machine:
//   node --conditions=kiln-src --import @swc-node/register/esm-register --test --test-force-exit \
//     libs/trainer/test/backend-webgpu-device.gpu.ts
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  Adam,
  type Batch,
  Callback,
  crossEntropy,
  DataLoader,
  ModelCheckpoint,
  Module,
  selectBackend,
  TensorDataset,
  Trainer,
  tf,
} from '../src/index.js';
import { lcg } from './fixtures/lcg.js';
import { quiet, tmp } from './fixtures/tiny.js';

delete process.env.KILN_FORCE_BACKEND;
/** the backend compared with cpu: webgpu; KILN_DEVICE_TEST_BACKEND=wasm checks this file itself on a CPU */
const GPU = (process.env.KILN_DEVICE_TEST_BACKEND ?? 'webgpu') as 'webgpu' | 'wasm';

const IN = 32;
const CLASSES = 10;
const N = 512;
const BATCH = 64;
/** float32 on a GPU sums in another order than the cpu backend: this much, relative, per step */
const RTOL = 2e-3;

/** A small classifier, initialised from fixed seeds so both backends start from the same weights. */
class Classifier extends Module {
  net = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [IN],
        units: 64,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({ units: CLASSES, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  trainingStep(batch: Batch) {
    const [x, y] = batch as tf.Tensor[];
    const loss = crossEntropy(this.net.apply(x as tf.Tensor) as tf.Tensor, y as tf.Tensor);
    this.log('train/loss', loss as tf.Scalar);
    return loss as tf.Scalar;
  }
  configureOptimizers() {
    return { optimizer: new Adam({ lr: 1e-2 }) };
  }
}

/** The same inputs and labels on any backend (from an LCG, not a backend's RNG). */
function loader(): DataLoader {
  const x = tf.tensor2d(lcg(N * IN, 11, 2), [N, IN]);
  const y = tf.tensor1d(
    Array.from(lcg(N, 12), (v) => Math.floor((v + 0.5) * CLASSES) % CLASSES),
    'int32',
  );
  return new DataLoader(new TensorDataset(x, y), { batchSize: BATCH, shuffle: true, seed: 5 });
}

class Losses extends Callback {
  seen: number[] = [];
  override onTrainBatchEnd(_t: Trainer, _m: Module, out: { loss: number | null }) {
    this.seen.push(out.loss as number);
  }
}

async function train(
  backend: 'cpu' | 'webgpu' | 'wasm',
  maxSteps: number,
  opts: { ckptPath?: string; saveEvery?: number; dir?: string } = {},
): Promise<number[]> {
  const losses = new Losses();
  const callbacks: Callback[] = [losses];
  if (opts.saveEvery)
    callbacks.push(
      new ModelCheckpoint({
        dirpath: opts.dir,
        everyNTrainSteps: opts.saveEvery,
        saveTopK: -1,
        saveLast: false,
      }),
    );
  const trainer = new Trainer(
    quiet(tmp('webgpu-dev'), { backend, maxSteps, callbacks, enableCheckpointing: Boolean(opts.saveEvery) }),
  );
  await trainer.fit(new Classifier(), { train: loader() }, { ckptPath: opts.ckptPath });
  assert.equal(trainer.backend?.name, backend);
  return losses.seen;
}

function assertClose(got: number[], want: number[], what: string) {
  const table = got.map((g, i) => `  step ${i + 1}: ${g} vs ${want[i]}`).join('\n');
  assert.equal(got.length, want.length, `${what}: step counts differ\n${table}`);
  got.forEach((g, i) => {
    const w = want[i] as number;
    assert.ok(Number.isFinite(g), `${what}: step ${i + 1} loss ${g}\n${table}`);
    assert.ok(Math.abs(g - w) <= RTOL * Math.max(1, Math.abs(w)), `${what}: step ${i + 1} differs\n${table}`);
  });
  console.log(`${what}:\n${table}`);
}

describe('webgpu backend on a GPU', () => {
  it("backend 'webgpu', accelerator 'gpu' and 'auto' all select it, naming the adapter", async () => {
    const info = await selectBackend({ backend: 'webgpu' });
    console.log(`selected: ${info.device}`);
    assert.equal(info.name, 'webgpu');
    assert.equal(info.accelerator, 'gpu');
    assert.match(info.device, /^gpu \(WebGPU through Dawn: /);
    assert.equal(tf.getBackend(), 'webgpu');
    // without tfjs-node-gpu (none on the GPU machine) the GPU accelerator and auto fall to WebGPU
    assert.equal((await selectBackend({ accelerator: 'gpu' })).name, 'webgpu');
    assert.equal((await selectBackend({ accelerator: 'auto' })).name, 'webgpu');
    const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2]));
    assert.deepEqual(Array.from(await y.data()), [3, 3, 3, 3]);
  });

  it('trains with the per-step losses of the cpu backend, within float32 tolerance', async () => {
    const cpu = await train('cpu', 12);
    const gpu = await train(GPU, 12);
    assertClose(gpu, cpu, `${GPU} vs cpu, 12 steps`);
    assert.ok((gpu.at(-1) as number) < (gpu[0] as number), 'the loss should fall');
  });

  it('a checkpoint saved on one backend resumes on the other', async () => {
    const reference = await train('cpu', 8);
    for (const [from, to] of [
      [GPU, 'cpu'],
      ['cpu', GPU],
    ] as const) {
      const dir = tmp(`webgpu-ckpt-${from}`);
      await train(from, 5, { saveEvery: 5, dir });
      const resumed = await train(to, 8, { ckptPath: join(dir, 'epoch=0-step=5.ckpt') });
      assertClose(resumed, reference.slice(5), `${from} → ${to}, steps 6-8 after resuming at 5`);
    }
  });
});

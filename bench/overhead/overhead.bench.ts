// Trainer overhead: the same MLP, data and backend trained by Trainer.fit({ barebones: true }) and by a
// hand-written tfjs loop (gather a batch, optimizer.minimize, inside tf.tidy), alternated so machine
// noise hits both alike. Prints each repeat, the medians and their ratio (goal: ≤ 1.01). Never asserts.
//
//   node --conditions=kiln-src --import @swc-node/register/esm-register bench/overhead/overhead.bench.ts \
//     [--backend cpu|wasm] [--repeats 7] [--samples 2048] [--batch 64] [--hidden 128]
import { parseArgs } from 'node:util';
import {
  type Batch,
  type ConfigureOptimizersResult,
  DataLoader,
  Module,
  selectBackend,
  TensorDataset,
  Trainer,
  tf,
} from '@kiln/trainer';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'cpu' },
    repeats: { type: 'string', default: '7' },
    samples: { type: 'string', default: '2048' },
    batch: { type: 'string', default: '64' },
    hidden: { type: 'string', default: '128' },
  },
});
const backend = values.backend as 'cpu' | 'wasm' | 'tensorflow';
const repeats = Number(values.repeats);
const n = Number(values.samples);
const batchSize = Number(values.batch);
const hidden = Number(values.hidden);

await selectBackend({ backend });
const x = tf.randomUniform([n, 784], 0, 1, 'float32', 1);
const y = tf.oneHot(tf.randomUniform([n], 0, 10, 'int32', 2) as tf.Tensor1D, 10).toFloat();

function mlp(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [784],
        units: hidden,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
      tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
}

class Mlp extends Module {
  net = mlp();
  trainingStep(batch: Batch): tf.Scalar {
    const [xb, yb] = batch as tf.Tensor[];
    return tf.losses.softmaxCrossEntropy(yb!, this.net.apply(xb!) as tf.Tensor) as tf.Scalar;
  }
  configureOptimizers(): ConfigureOptimizersResult {
    return tf.train.adam(1e-3);
  }
}

async function viaTrainer(): Promise<number> {
  const module = new Mlp();
  const loader = new DataLoader(new TensorDataset(x, y), { batchSize });
  const trainer = new Trainer({ backend, maxEpochs: 1, barebones: true });
  const t0 = performance.now();
  await trainer.fit(module, { train: loader });
  const ms = performance.now() - t0;
  module.net.dispose();
  return ms;
}

async function byHand(): Promise<number> {
  const net = mlp();
  const optimizer = tf.train.adam(1e-3);
  const vars = net.trainableWeights.map((w) => w.read() as tf.Variable);
  const t0 = performance.now();
  const steps = Math.ceil(n / batchSize);
  for (let i = 0; i < steps; i++) {
    tf.tidy(() => {
      const idx = tf.tensor1d(
        Int32Array.from({ length: Math.min(batchSize, n - i * batchSize) }, (_, j) => i * batchSize + j),
        'int32',
      );
      const xb = x.gather(idx);
      const yb = y.gather(idx);
      optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(yb, net.apply(xb) as tf.Tensor) as tf.Scalar,
        false,
        vars,
      );
    });
  }
  // the Trainer's fit includes backend selection and setup; this loop's total is its training only
  await tf.nextFrame();
  const ms = performance.now() - t0;
  optimizer.dispose();
  net.dispose();
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

console.log(
  `backend ${tf.getBackend()}, MLP 784-${hidden}-10, Adam, ${n} samples, batch ${batchSize}, ${Math.ceil(n / batchSize)} steps per run`,
);
await viaTrainer(); // warm-up: kernels, caches
await byHand();
const trainerMs: number[] = [];
const handMs: number[] = [];
for (let r = 0; r < repeats; r++) {
  // alternate which goes first, so drift in machine load cancels out
  if (r % 2 === 0) {
    trainerMs.push(await viaTrainer());
    handMs.push(await byHand());
  } else {
    handMs.push(await byHand());
    trainerMs.push(await viaTrainer());
  }
  console.log(
    `repeat ${r + 1}: trainer ${trainerMs.at(-1)!.toFixed(1)} ms, hand-written ${handMs.at(-1)!.toFixed(1)} ms`,
  );
}
const mt = median(trainerMs);
const mh = median(handMs);
console.log(`median: trainer ${mt.toFixed(1)} ms, hand-written ${mh.toFixed(1)} ms`);
console.log(`overhead ratio (trainer / hand-written): ${(mt / mh).toFixed(4)}  (goal <= 1.01)`);
console.log(
  `per step: trainer ${((mt / Math.ceil(n / batchSize)) * 1000).toFixed(0)} us, hand-written ${((mh / Math.ceil(n / batchSize)) * 1000).toFixed(0)} us`,
);

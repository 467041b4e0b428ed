// Trainer overhead: the same MLP, data and backend trained by Trainer.fit({ barebones: true }) and by a
// hand-written tfjs loop (gather a batch, optimizer.minimize, inside tf.tidy), alternated so machine
// noise hits both alike. Prints each repeat, the medians and their ratio (goal: ≤ 1.01) in wall time and
// in process CPU time (steadier on a shared machine). Never asserts.
//
//   node --conditions=kiln-src --import @swc-node/register/esm-register bench/overhead/overhead.bench.ts \
//     [--backend cpu|wasm|tensorflow] [--repeats 7] [--samples 2048] [--batch 64] [--hidden 128]
//     [--optimizer kiln|tfjs]   (Kiln's Adam, the default, or tf.train.adam; both sides use the same one)
//     [--compile]               (tensorflow: Trainer option compile; the hand-written loop runs its step
//                                through the same CompiledStep, so both trace their first steps alike)
//     [--epochs 1]             (passes over the samples: longer runs, the same data)
//     [--trainer barebones|full] (full: hooks, loss (read back only when a hook reads it) and logging,
//                                no logger, progress bar, checkpoint or summary; the hand-written loop
//                                stays as it is)
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  Adam,
  type Batch,
  type ConfigureOptimizersResult,
  DataLoader,
  Module,
  selectBackend,
  TensorDataset,
  Trainer,
  tf,
} from '@kiln/trainer';
// the compiled step is internal to the Trainer; the benchmark runs from source, so it reaches it directly
import { CompiledStep } from '../../libs/trainer/src/compile/compiled-step.js';
import { median } from '../support/stats.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'cpu' },
    repeats: { type: 'string', default: '7' },
    samples: { type: 'string', default: '2048' },
    batch: { type: 'string', default: '64' },
    hidden: { type: 'string', default: '128' },
    optimizer: { type: 'string', default: 'kiln' },
    compile: { type: 'boolean', default: false },
    trainer: { type: 'string', default: 'barebones' },
    epochs: { type: 'string', default: '1' },
  },
});
const backend = values.backend as 'cpu' | 'wasm' | 'tensorflow';
const repeats = Number(values.repeats);
const n = Number(values.samples);
const batchSize = Number(values.batch);
const hidden = Number(values.hidden);
const epochs = Number(values.epochs);
if (!Number.isInteger(epochs) || epochs < 1)
  throw new Error(`--epochs must be a positive integer, got ${values.epochs}`);
if (values.optimizer !== 'kiln' && values.optimizer !== 'tfjs')
  throw new Error(`--optimizer must be kiln or tfjs, got ${values.optimizer}`);
if (values.trainer !== 'barebones' && values.trainer !== 'full')
  throw new Error(`--trainer must be barebones or full, got ${values.trainer}`);
const compile = values.compile === true;
if (compile && backend !== 'tensorflow') throw new Error('--compile needs --backend tensorflow');
const barebones = values.trainer === 'barebones';
const makeOptimizer = (): tf.Optimizer =>
  values.optimizer === 'kiln' ? new Adam({ lr: 1e-3 }) : tf.train.adam(1e-3);

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
    return makeOptimizer();
  }
}

/** Wall and CPU milliseconds of one run. CPU time (user + system of this process) is far less
 * disturbed by other work on a shared machine than wall time, so both are reported. */
interface Timing {
  wall: number;
  cpu: number;
}

function clock(): () => Timing {
  const w0 = performance.now();
  const c0 = process.cpuUsage();
  return () => {
    const c = process.cpuUsage(c0);
    return { wall: performance.now() - w0, cpu: (c.user + c.system) / 1000 };
  };
}

async function viaTrainer(): Promise<Timing> {
  const module = new Mlp();
  const loader = new DataLoader(new TensorDataset(x, y), { batchSize });
  const trainer = new Trainer({
    backend,
    maxEpochs: epochs,
    compile,
    ...(barebones
      ? { barebones: true }
      : {
          logger: false,
          enableProgressBar: false,
          enableCheckpointing: false,
          enableModelSummary: false,
        }),
  });
  const stop = clock();
  await trainer.fit(module, { train: loader });
  const t = stop();
  module.net.dispose();
  for (const opt of trainer._optimizers()) opt.dispose(); // as the hand-written loop does
  return t;
}

async function byHand(): Promise<Timing> {
  const module = new Mlp();
  const net = module.net;
  const optimizer = makeOptimizer();
  const vars = net.trainableWeights.map((w) => w.read() as tf.Variable);
  const compiled = compile ? new CompiledStep({ xla: false }, (m) => console.error(m)) : null;
  const stop = clock();
  const steps = Math.ceil(n / batchSize);
  for (let i = 0; i < steps * epochs; i++) {
    tf.tidy(() => {
      const idx = tf.tensor1d(
        Int32Array.from(
          { length: Math.min(batchSize, n - (i % steps) * batchSize) },
          (_, j) => (i % steps) * batchSize + j,
        ),
        'int32',
      );
      const xb = x.gather(idx);
      const yb = y.gather(idx);
      const step = () =>
        optimizer.minimize(
          () => tf.losses.softmaxCrossEntropy(yb, net.apply(xb) as tf.Tensor) as tf.Scalar,
          compiled !== null, // the compiled step's result is the loss
          vars,
        ) as tf.Scalar;
      if (compiled) compiled.run(module, [xb, yb], optimizer, step);
      else step();
    });
  }
  // the Trainer's fit includes backend selection and setup; this loop's total is its training only
  const t = stop();
  if (compiled && compiled.compiledCalls === 0)
    throw new Error(`the hand-written loop ran eagerly: ${compiled.fallbackReason}`);
  compiled?.dispose();
  optimizer.dispose();
  net.dispose();
  return t;
}

console.log(
  `backend ${tf.getBackend()}, MLP 784-${hidden}-10, Adam (${values.optimizer}), ${n} samples, batch ${batchSize}, ${Math.ceil(n / batchSize) * epochs} steps per run (${epochs} epoch(s)), ` +
    `${barebones ? 'barebones' : 'full'} Trainer, ${compile ? 'compiled' : 'eager'} steps, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
);
await viaTrainer(); // warm-up: kernels, caches
await byHand();
const viaT: Timing[] = [];
const hand: Timing[] = [];
for (let r = 0; r < repeats; r++) {
  // alternate which goes first, so drift in machine load cancels out
  if (r % 2 === 0) {
    viaT.push(await viaTrainer());
    hand.push(await byHand());
  } else {
    hand.push(await byHand());
    viaT.push(await viaTrainer());
  }
  const a = viaT.at(-1)!;
  const b = hand.at(-1)!;
  console.log(
    `repeat ${r + 1}: trainer ${a.wall.toFixed(1)} ms wall / ${a.cpu.toFixed(1)} ms cpu, hand-written ${b.wall.toFixed(1)} ms wall / ${b.cpu.toFixed(1)} ms cpu`,
  );
}
const steps = Math.ceil(n / batchSize) * epochs;
for (const kind of ['wall', 'cpu'] as const) {
  const mt = median(viaT.map((t) => t[kind]));
  const mh = median(hand.map((t) => t[kind]));
  console.log(
    `${kind} median: trainer ${mt.toFixed(1)} ms, hand-written ${mh.toFixed(1)} ms, ratio ${(mt / mh).toFixed(4)}, ` +
      `median of paired ratios ${median(viaT.map((t, i) => t[kind] / hand[i]![kind])).toFixed(4)} (goal <= 1.01); ` +
      `per step ${((mt / steps) * 1000).toFixed(0)} us vs ${((mh / steps) * 1000).toFixed(0)} us`,
  );
}
console.log(
  `load at the end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);

// One timed Kiln run for bench/vs-pytorch, in its own process (TensorFlow's thread pools are fixed at
// load). `--mode kiln` trains through the Trainer; `--mode tfjs` is a hand-written tfjs loop on the
// same backend, to tell the Trainer's cost from the backend's. Prints one JSON line.
//   node --conditions=kiln-src --import @swc-node/register/esm-register bench/vs-pytorch/kiln-worker.ts \
//     --model mlp --mode kiln --threads 2 --warmup 20 --steps 200 [--backend tensorflow|webgpu|wasm|cpu]
//     [--optimizer kiln|tfjs] [--batch N] [--compile none|graph|xla]
import { parseArgs } from 'node:util';
import {
  Callback,
  type Trainer as KilnTrainer,
  type Module,
  selectBackend,
  Trainer,
  tf,
} from '@kiln/trainer';
import {
  BATCH,
  MODELS,
  type ModelName,
  makeLoader,
  makeModule,
  makeOptimizer,
  OPTIMIZERS,
  type OptimizerName,
} from './models.js';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' },
    mode: { type: 'string', default: 'kiln' },
    threads: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '20' },
    steps: { type: 'string', default: '200' },
    backend: { type: 'string', default: 'tensorflow' },
    optimizer: { type: 'string', default: 'kiln' },
    batch: { type: 'string' },
    compile: { type: 'string', default: 'none' },
  },
});
if (!['none', 'graph', 'xla'].includes(a.compile as string))
  throw new Error(`--compile must be none, graph or xla, got ${a.compile}`);
/** Trainer option `compile`: each step one TensorFlow function (graph), compiled by XLA too (xla). */
const compile = a.compile === 'none' ? false : a.compile === 'xla' ? { xla: true } : true;
const model = a.model as ModelName;
if (!MODELS.includes(model)) throw new Error(`--model must be one of ${MODELS.join(', ')}, got ${a.model}`);
if (a.mode !== 'kiln' && a.mode !== 'tfjs') throw new Error(`--mode must be kiln or tfjs, got ${a.mode}`);
const optimizer = a.optimizer as OptimizerName;
if (!OPTIMIZERS.includes(optimizer))
  throw new Error(`--optimizer must be one of ${OPTIMIZERS.join(', ')}, got ${a.optimizer}`);
const threads = Number(a.threads);
const warmup = Number(a.warmup);
const steps = Number(a.steps);
const backend = a.backend as 'tensorflow' | 'webgpu' | 'cpu' | 'wasm';
const accelerator = backend === 'webgpu' ? 'gpu' : 'cpu';
const batch = a.batch === undefined ? BATCH[model] : Number(a.batch);

/** Times the steps after the warm-up ones, from inside the loop (start-up and compilation excluded). */
class Clock extends Callback {
  t0 = 0;
  t1 = 0;
  c0 = 0;
  c1 = 0;
  override onTrainBatchEnd(trainer: KilnTrainer, _m: Module) {
    if (trainer.globalStep === warmup) [this.t0, this.c0] = [performance.now(), cpuMs()];
    [this.t1, this.c1] = [performance.now(), cpuMs()];
  }
}

/** CPU time of the whole process (all threads), in ms: robust to other processes sharing the cores. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function runKiln(): Promise<[number, number]> {
  const clock = new Clock();
  const trainer = new Trainer({
    backend,
    accelerator,
    intraOpThreads: threads,
    interOpThreads: 1,
    maxSteps: warmup + steps,
    enableCheckpointing: false,
    enableProgressBar: false,
    enableModelSummary: false,
    logger: false,
    numSanityValSteps: 0,
    callbacks: [clock],
    compile,
  });
  await trainer.fit(makeModule(model, optimizer), { train: makeLoader(model, batch) });
  return [(clock.t1 - clock.t0) / 1000, (clock.c1 - clock.c0) / 1000];
}

/** The same model, data and optimizer, stepped by hand: what the Trainer is measured against. */
async function runTfjs(): Promise<[number, number]> {
  await selectBackend({ backend, accelerator, intraOpThreads: threads, interOpThreads: 1 });
  const module = makeModule(model) as Module & { trainingStep(b: tf.Tensor[]): tf.Scalar };
  const loader = makeLoader(model, batch);
  const opt = makeOptimizer(optimizer);
  const vars = module.parameters();
  module.log = () => {}; // no Trainer attached: logging is the Trainer's job
  let step = 0;
  let t0 = 0;
  let c0 = 0;
  for (let epoch = 0; step < warmup + steps; epoch++) {
    loader.setEpoch(epoch);
    for (const batch of loader) {
      if (step === warmup) [t0, c0] = [performance.now(), cpuMs()];
      if (step === warmup + steps) break;
      const loss = opt.minimize(() => module.trainingStep(batch as tf.Tensor[]), true, vars) as tf.Scalar;
      await loss.data();
      tf.dispose([loss, batch as tf.Tensor[]]);
      step++;
    }
  }
  return [(performance.now() - t0) / 1000, (cpuMs() - c0) / 1000];
}

const [seconds, cpuSeconds] = a.mode === 'kiln' ? await runKiln() : await runTfjs();
console.log(
  JSON.stringify({
    framework: a.mode === 'kiln' ? 'kiln' : 'tfjs-loop',
    optimizer,
    compile: a.compile,
    backend: tf.getBackend(),
    model,
    batch,
    steps,
    seconds,
    samples_per_s: (steps * batch) / seconds,
    cpu_seconds: cpuSeconds,
    samples_per_cpu_s: (steps * batch) / cpuSeconds,
    threads,
  }),
);

// One rank of bench/ddp/scaling.ts (and bench/ddp/compiled.ts): trains MODEL (mlp | cnn) on synthetic
// data for WARMUP + STEPS optimizer steps with per-rank batch BATCH and prints rank 0's measured global
// samples/s as JSON. BENCH_COMPILE=1: Trainer option compile (tensorflow backend).
import {
  Adam,
  type Batch,
  crossEntropy,
  DataLoader,
  DataModule,
  DDPStrategy,
  Module,
  TensorDataset,
  Trainer,
  tf,
} from '../../libs/trainer/src/index.js';
import { makeNet } from './models.js';

// Time spent in the gradient all-reduce (copy off the device, ring, averaging) after warm-up: the
// share of each step DDP adds, independent of how busy the machine's other cores are.
let commMs = 0;
let measuring = false;
const allReduce = DDPStrategy.prototype.allReduceGradients;
DDPStrategy.prototype.allReduceGradients = async function (this: DDPStrategy, grads) {
  const t0 = performance.now();
  const out = await allReduce.call(this, grads);
  if (measuring) commMs += performance.now() - t0;
  return out;
};

const model = process.env.MODEL ?? 'mlp';
const batch = Number(process.env.BATCH ?? 64);
const warmup = Number(process.env.WARMUP ?? 5);
const steps = Number(process.env.STEPS ?? 30);
const world = Number(process.env.WORLD_SIZE ?? 1);
const rank = Number(process.env.RANK ?? 0);

class Net extends Module {
  net = makeNet(model === 'cnn' ? 'cnn' : 'mlp');
  private t0 = 0;
  trainingStep(b: Batch) {
    const [x, y] = b as tf.Tensor[];
    return crossEntropy(this.net.apply(x!) as tf.Tensor, y!) as tf.Scalar;
  }
  configureOptimizers() {
    return { optimizer: new Adam({ lr: 1e-3 }) };
  }
  override onTrainBatchEnd(): void {
    const step = this.trainer.globalStep;
    if (step === warmup) {
      this.t0 = performance.now();
      measuring = true;
    }
    if (step === warmup + steps && rank === 0) {
      const dt = (performance.now() - this.t0) / 1000;
      console.log(
        JSON.stringify({
          model,
          world,
          batch,
          samplesPerSec: (steps * batch * world) / dt,
          stepMs: (dt / steps) * 1000,
          commMsPerStep: commMs / steps,
        }),
      );
    }
  }
}

class Data extends DataModule {
  ds!: TensorDataset;
  override setup(): void {
    const n = batch * world * (warmup + steps);
    const shape = model === 'cnn' ? [n, 28, 28, 1] : [n, 784];
    const x = tf.randomUniform(shape, 0, 1, 'float32', 1);
    const y = tf.randomUniform([n], 0, 10, 'int32', 2);
    this.ds = new TensorDataset(x, y);
  }
  override trainDataloader(): DataLoader {
    return new DataLoader(this.ds, { batchSize: batch, shuffle: true, seed: 3 });
  }
}

await new Trainer({
  maxSteps: warmup + steps,
  backend: (process.env.BENCH_BACKEND ?? 'cpu') as 'cpu',
  intraOpThreads: 1,
  interOpThreads: 1,
  enableProgressBar: false,
  enableModelSummary: false,
  enableCheckpointing: false,
  logger: false,
  profiler: process.env.BENCH_PROFILE === '1' ? 'simple' : null,
  compile: process.env.BENCH_COMPILE === '1',
  strategy: world > 1 ? 'ddp' : undefined,
}).fit(new Net(), new Data());

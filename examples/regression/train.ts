// Synthetic regression: learn y = 2·sin(x₀) + x₁·x₂ − 0.5·x₃ + noise from 4,096 seeded samples.
//   kiln fit examples/regression/train.ts
// Shows an LR schedule (cosine, stepped each epoch) and LearningRateMonitor logging the rate.
import {
  Adam,
  type Batch,
  CosineAnnealingLR,
  DataLoader,
  DataModule,
  defineScript,
  LearningRateMonitor,
  Module,
  Rng,
  type ScriptContext,
  TensorDataset,
  tf,
} from '@kiln/trainer';
import { type Experiment, runExample } from '../experiment.js';

export interface RegressionHparams extends Record<string, unknown> {
  hidden: number;
  lr: number;
  batchSize: number;
  samples: number;
  noise: number;
  maxEpochs: number;
}

/** The function the model has to find. */
export function target(x: ArrayLike<number>): number {
  return 2 * Math.sin(x[0]!) + x[1]! * x[2]! - 0.5 * x[3]!;
}

export class Regressor extends Module {
  readonly net: tf.Sequential;

  constructor(readonly hp: RegressionHparams) {
    super();
    this.saveHyperparameters(hp);
    this.net = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [4], units: hp.hidden, activation: 'tanh' }),
        tf.layers.dense({ units: hp.hidden, activation: 'tanh' }),
        tf.layers.dense({ units: 1 }),
      ],
    });
  }

  trainingStep(batch: Batch) {
    const [x, y] = batch as tf.Tensor[];
    const loss = tf.losses.meanSquaredError(y!, this.net.apply(x!) as tf.Tensor) as tf.Scalar;
    this.log('train/mse', loss, { progBar: true });
    return loss;
  }

  override validationStep(batch: Batch) {
    const [x, y] = batch as tf.Tensor[];
    this.log('val/mse', tf.losses.meanSquaredError(y!, this.net.apply(x!) as tf.Tensor), { progBar: true });
  }

  configureOptimizers() {
    const optimizer = new Adam({ lr: this.hp.lr });
    // one cosine cycle over the whole run, stepped at each epoch's end
    return {
      optimizer,
      lrScheduler: {
        scheduler: new CosineAnnealingLR(optimizer, { tMax: this.hp.maxEpochs }),
        interval: 'epoch' as const,
      },
    };
  }
}

/** Inputs uniform in [-2, 2]⁴ from Kiln's seeded generator, so every run sees the same data. */
export class RegressionData extends DataModule {
  private train: TensorDataset | null = null;
  private val: TensorDataset | null = null;

  constructor(readonly hp: RegressionHparams) {
    super();
  }

  override setup() {
    if (this.train) return;
    const rng = new Rng(1234);
    const n = this.hp.samples;
    const xs = new Float32Array(n * 4);
    const ys = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 4; j++) xs[i * 4 + j] = rng.next() * 4 - 2;
      // Box–Muller noise
      const noise = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
      ys[i] = target(xs.subarray(i * 4, i * 4 + 4)) + this.hp.noise * noise;
    }
    const nTrain = Math.floor(n * 0.8);
    this.train = new TensorDataset(
      tf.tensor2d(xs.subarray(0, nTrain * 4), [nTrain, 4]),
      tf.tensor2d(ys.subarray(0, nTrain), [nTrain, 1]),
    );
    this.val = new TensorDataset(
      tf.tensor2d(xs.subarray(nTrain * 4), [n - nTrain, 4]),
      tf.tensor2d(ys.subarray(nTrain), [n - nTrain, 1]),
    );
  }

  override trainDataloader() {
    return new DataLoader(this.train!, { batchSize: this.hp.batchSize, shuffle: true, seed: 0 });
  }

  override valDataloader() {
    return new DataLoader(this.val!, { batchSize: 512 });
  }
}

export const experiment: Experiment<RegressionHparams> = {
  name: 'regression',
  hparams: { hidden: 32, lr: 0.01, batchSize: 64, samples: 4096, noise: 0.1, maxEpochs: 20 },
  trainer: (hp) => ({
    maxEpochs: hp.maxEpochs,
    seed: 0,
    deterministic: true,
    logEveryNSteps: 10,
    callbacks: [new LearningRateMonitor()],
  }),
  model: (hp) => new Regressor(hp),
  data: (hp) => new RegressionData(hp),
};
// `kiln fit` calls the default export with its context; `node train.ts` runs it with KILN_HPARAMS etc.
export default defineScript(import.meta.url, (ctx: ScriptContext) => runExample(experiment, ctx));

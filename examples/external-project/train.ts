// A training script in a project of its own, outside the Kiln repository: it imports only the packed
// @kiln/trainer and runs under the packed `kiln` command (see README.md here).
//   npx kiln fit train.ts --max-epochs 3
// Learns y = 3·x₀ − 2·x₁ + 0.5 from 1,024 seeded samples with a one-layer model.
import {
  Adam,
  type Batch,
  DataLoader,
  DataModule,
  defineScript,
  Module,
  Rng,
  type ScriptContext,
  TensorDataset,
  Trainer,
  tf,
} from '@kiln/trainer';

class Linear extends Module {
  readonly net = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });

  constructor(readonly lr: number) {
    super();
    this.saveHyperparameters({ lr });
  }

  trainingStep(batch: Batch) {
    const [x, y] = batch as tf.Tensor[];
    const loss = tf.losses.meanSquaredError(y!, this.net.apply(x!) as tf.Tensor) as tf.Scalar;
    this.log('train/loss', loss, { progBar: true });
    return loss;
  }

  configureOptimizers() {
    return new Adam({ lr: this.lr });
  }
}

class LineData extends DataModule {
  private data: TensorDataset | null = null;

  constructor(readonly samples: number) {
    super();
  }

  override setup() {
    const rng = new Rng(7);
    const xs = new Float32Array(this.samples * 2).map(() => rng.next() * 2 - 1);
    const ys = new Float32Array(this.samples).map((_, i) => 3 * xs[2 * i]! - 2 * xs[2 * i + 1]! + 0.5);
    this.data = new TensorDataset(tf.tensor2d(xs, [this.samples, 2]), tf.tensor2d(ys, [this.samples, 1]));
  }

  override trainDataloader() {
    return new DataLoader(this.data!, { batchSize: 64, shuffle: true, seed: 0 });
  }
}

export default defineScript(import.meta.url, async ({ hparams, trainerOptions, ckptPath }: ScriptContext) => {
  const lr = typeof hparams.lr === 'number' ? hparams.lr : 0.05;
  const trainer = new Trainer({
    maxEpochs: 5,
    defaultRootDir: 'kiln_logs/external',
    seed: 0,
    ...trainerOptions,
  });
  await trainer.fit(new Linear(lr), new LineData(1024), { ckptPath: ckptPath ?? null });
});

// One rank of a DDP run of the compiled-step regressor (Kiln's AdamW with a per-step LR schedule) on the
// tensorflow backend, compiled when COMPILE=1: after the run it writes $OUT/run-<rank>.json with every
// step's loss (onTrainBatchEnd), the final weights, the compiled step's calls and fallback reason, and
// kiln's compile warnings. ACCUM and CLIP set accumulateGradBatches and gradientClipVal; DROPOUT=1 adds
// tf.dropout on the input; ATTENTION=1 mixes the input's features through softmaxes over 32 scores
// (an attention pattern).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Batch, DataLoader, DataModule, TensorDataset, Trainer, tf } from '../../src/index.js';
import { compiledOf, Regressor, Steps, withCompileWarnings } from '../fixtures/compiled.js';
import { makeRegressionData } from '../fixtures/tiny.js';

const out = process.env.OUT as string;
const rank = Number(process.env.RANK ?? 0);

const dropout = process.env.DROPOUT === '1';
const attention = process.env.ATTENTION === '1';

class Model extends Regressor {
  override trainingStep(batch: Batch) {
    this.log('train/rank', rank, { onStep: false, onEpoch: true, syncDist: true });
    if (attention) {
      const [x, y] = batch as tf.Tensor[];
      const rows = x!.shape[0] as number;
      // 64 rows of 32 scores per sample, as attention has them
      const scores = tf.reshape(tf.tile(tf.mul(x!, 3), [1, 512]), [rows * 64, 32]);
      const weights = tf.reshape(tf.softmax(scores), [rows, 2048]);
      const mixed = tf.mul(x!, tf.matMul(weights, tf.tile(tf.mul(tf.eye(4), 1 / 64), [512, 1])));
      return tf.losses.meanSquaredError(y!, this.forward(mixed)) as tf.Scalar;
    }
    if (!dropout) return this.trainLoss(batch);
    // a dropout mask drawn in JavaScript each step (from Math.random, seeded alike on every rank)
    const [x, y] = batch as tf.Tensor[];
    return tf.losses.meanSquaredError(y!, this.forward(tf.dropout(x!, 0.25))) as tf.Scalar;
  }
}

class Data extends DataModule {
  train!: TensorDataset;
  override setup(): void {
    const d = makeRegressionData(48);
    this.train = new TensorDataset(d.x, d.y);
  }
  override trainDataloader(): DataLoader {
    return new DataLoader(this.train, { batchSize: 4, shuffle: true, seed: 7 });
  }
}

const losses = new Steps();
const trainer = new Trainer({
  maxEpochs: 3,
  backend: 'tensorflow',
  seed: 42,
  deterministic: true,
  compile: process.env.COMPILE === '1',
  accumulateGradBatches: Number(process.env.ACCUM ?? 1),
  gradientClipVal: process.env.CLIP ? Number(process.env.CLIP) : null,
  enableProgressBar: false,
  enableModelSummary: false,
  enableCheckpointing: false,
  logger: false,
  defaultRootDir: out,
  strategy: 'ddp',
  callbacks: [losses],
});
const model = new Model('adamw');
const { warnings } = await withCompileWarnings(() => trainer.fit(model, new Data()));
const compiled = compiledOf(trainer);
writeFileSync(
  join(out, `run-${rank}.json`),
  JSON.stringify({
    globalStep: trainer.globalStep,
    losses: losses.losses,
    metrics: trainer.callbackMetrics,
    weights: model.parameters().map((v) => Array.from(v.dataSync())),
    compiledCalls: compiled?.compiledCalls ?? 0,
    fallbackReason: compiled?.fallbackReason ?? null,
    warnings,
  }),
);

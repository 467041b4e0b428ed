// Handwritten digits (scikit-learn's 8×8 set, 1,797 images) with a small MLP.
//   python3 scripts/datasets/fetch.py digits      # once: the data comes from scikit-learn's wheel
//   kiln fit examples/digits/train.ts
// Logs (metrics.csv, TensorBoard events) land in kiln_logs/digits/version_<n>, checkpoints in kiln_logs/digits/checkpoints.
import {
  Adam,
  type Batch,
  crossEntropy,
  DataLoader,
  DataModule,
  defineScript,
  EarlyStopping,
  ModelCheckpoint,
  Module,
  type ScriptContext,
  TensorDataset,
  tf,
} from '@kiln/trainer';
import { loadDigits } from '../data/datasets.js';
import { type Experiment, runExample } from '../experiment.js';

export interface DigitsHparams extends Record<string, unknown> {
  hidden: number;
  lr: number;
  batchSize: number;
  dropout: number;
}

export class DigitsClassifier extends Module {
  readonly net: tf.Sequential;

  constructor(readonly hp: DigitsHparams) {
    super();
    this.saveHyperparameters(hp); // goes into checkpoints and to the loggers (TensorBoard's HPARAMS tab)
    this.net = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [64], units: hp.hidden, activation: 'relu' }),
        tf.layers.dropout({ rate: hp.dropout }),
        tf.layers.dense({ units: 10 }),
      ],
    });
  }

  trainingStep(batch: Batch) {
    const [x, y] = batch as tf.Tensor[];
    // `training: this.training` turns dropout on in training steps only
    const logits = this.net.apply(x!, { training: this.training }) as tf.Tensor;
    // one-hot labels; on the tensorflow backend TensorFlow's fused softmax-cross-entropy op
    const loss = crossEntropy(logits, y!) as tf.Scalar;
    this.log('train/loss', loss, { progBar: true });
    return loss;
  }

  override validationStep(batch: Batch) {
    this.evaluate(batch as tf.Tensor[], 'val');
  }

  override testStep(batch: Batch) {
    this.evaluate(batch as tf.Tensor[], 'test');
  }

  private evaluate([x, y]: tf.Tensor[], stage: 'val' | 'test') {
    const logits = this.net.apply(x!) as tf.Tensor;
    // epoch means weighted by batch size (the last batch may be smaller)
    this.log(`${stage}/loss`, crossEntropy(logits, y!) as tf.Scalar, { progBar: true });
    this.log(`${stage}/acc`, tf.mean(tf.equal(tf.argMax(logits, 1), tf.argMax(y!, 1)).toFloat()), {
      progBar: true,
    });
  }

  configureOptimizers() {
    return { optimizer: new Adam({ lr: this.hp.lr }) };
  }
}

/** A fixed split: the first 1,300 images train, the next 250 validate, the last 247 test. */
export class DigitsData extends DataModule {
  private splits: Record<'train' | 'val' | 'test', TensorDataset> | null = null;

  constructor(readonly batchSize: number) {
    super();
  }

  override setup() {
    if (this.splits) return;
    const { images, labels, count } = loadDigits();
    const x = tf.tensor2d(images, [count, 64]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat();
    const part = (begin: number, end: number) =>
      new TensorDataset(x.slice([begin, 0], [end - begin, 64]), y.slice([begin, 0], [end - begin, 10]));
    this.splits = { train: part(0, 1300), val: part(1300, 1550), test: part(1550, count) };
    tf.dispose([x, y]);
  }

  override trainDataloader() {
    return new DataLoader(this.splits!.train, { batchSize: this.batchSize, shuffle: true, seed: 0 });
  }

  override valDataloader() {
    return new DataLoader(this.splits!.val, { batchSize: 250 });
  }

  override testDataloader() {
    return new DataLoader(this.splits!.test, { batchSize: 250 });
  }
}

export const experiment: Experiment<DigitsHparams> = {
  name: 'digits',
  hparams: { hidden: 64, lr: 0.005, batchSize: 32, dropout: 0.1 },
  trainer: () => ({
    maxEpochs: 15,
    seed: 0,
    deterministic: true,
    logEveryNSteps: 10,
    callbacks: [
      new ModelCheckpoint({ monitor: 'val/acc', mode: 'max', filename: '{epoch}-{val/acc:.3f}' }),
      new EarlyStopping({ monitor: 'val/loss', mode: 'min', patience: 3 }),
    ],
  }),
  model: (hp) => new DigitsClassifier(hp),
  data: (hp) => new DigitsData(hp.batchSize),
};
// `kiln fit` calls the default export with its context; `node train.ts` runs it with KILN_HPARAMS etc.
export default defineScript(import.meta.url, (ctx: ScriptContext) => runExample(experiment, ctx));

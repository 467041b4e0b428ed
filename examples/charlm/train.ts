// A character-level language model on Shakespeare's As You Like It (public domain, ~125 kB).
//   python3 scripts/datasets/fetch.py shakespeare    # once: the text comes from Brotli's source package
//   kiln fit examples/charlm/train.ts
// The model reads the previous `context` characters (embedded, concatenated) and predicts the next one:
// small enough for a CPU, and after a few hundred steps it writes text with Shakespeare's shape.
import {
  Adam,
  type Batch,
  crossEntropy,
  DataLoader,
  DataModule,
  type Dataset,
  defineScript,
  Module,
  Rng,
  type ScriptContext,
  tf,
} from '@kiln/trainer';
import { loadShakespeare } from '../data/datasets.js';
import { type Experiment, runExample } from '../experiment.js';

export interface CharLMHparams extends Record<string, unknown> {
  context: number;
  embedding: number;
  hidden: number;
  lr: number;
  batchSize: number;
  maxSteps: number;
}

/** Characters ↔ ids; saved in checkpoints through the DataModule, so a restored model decodes the same. */
export class Vocabulary {
  readonly chars: string[];
  private readonly ids: Map<string, number>;

  constructor(chars: string[]) {
    this.chars = chars;
    this.ids = new Map(chars.map((c, i) => [c, i]));
  }

  static fromText(text: string): Vocabulary {
    return new Vocabulary([...new Set(text)].sort());
  }

  get size(): number {
    return this.chars.length;
  }

  encode(text: string): Int32Array {
    return Int32Array.from(text, (c) => {
      const id = this.ids.get(c);
      if (id === undefined) throw new Error(`character ${JSON.stringify(c)} is not in the vocabulary`);
      return id;
    });
  }

  decode(ids: ArrayLike<number>): string {
    return Array.from(ids, (i) => this.chars[i] ?? '?').join('');
  }
}

/** Every position of the text as a sample: the `context` ids before it, and its own id as the label. */
class NextCharDataset implements Dataset {
  readonly length: number;

  constructor(
    private readonly ids: Int32Array,
    private readonly context: number,
  ) {
    this.length = ids.length - context;
  }

  getBatch(indices: Int32Array): Batch {
    const x = new Int32Array(indices.length * this.context);
    const y = new Int32Array(indices.length);
    indices.forEach((start, row) => {
      x.set(this.ids.subarray(start, start + this.context), row * this.context);
      y[row] = this.ids[start + this.context]!;
    });
    return [tf.tensor2d(x, [indices.length, this.context], 'int32'), tf.tensor1d(y, 'int32')];
  }
}

export class CharLM extends Module {
  /** One row per character. A plain tf.Variable field is found, trained and checkpointed like a layer. */
  readonly embedding: tf.Variable;
  readonly head: tf.Sequential;

  constructor(
    readonly hp: CharLMHparams,
    readonly vocab: Vocabulary,
  ) {
    super();
    this.saveHyperparameters({ ...hp, vocabSize: vocab.size });
    this.embedding = tf.variable(tf.randomNormal([vocab.size, hp.embedding], 0, 0.1));
    this.head = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [hp.context * hp.embedding], units: hp.hidden, activation: 'relu' }),
        tf.layers.dense({ units: vocab.size }),
      ],
    });
  }

  /** Logits of the next character after each row of `context` character ids. */
  logits(x: tf.Tensor): tf.Tensor {
    const [batch, context] = x.shape as [number, number];
    // the lookup as one-hot × matrix: its gradient is a matmul, which every backend has (a gather's
    // gradient needs UnsortedSegmentSum, which the wasm backend lacks)
    const oneHot = tf.oneHot(x.reshape([batch * context]), this.vocab.size).toFloat();
    const embedded = tf.matMul(oneHot, this.embedding).reshape([batch, context * this.hp.embedding]);
    return this.head.apply(embedded) as tf.Tensor;
  }

  private loss([x, y]: tf.Tensor[]): tf.Scalar {
    // class-index labels: no one-hot needed
    return crossEntropy(this.logits(x!), y!) as tf.Scalar;
  }

  trainingStep(batch: Batch) {
    const loss = this.loss(batch as tf.Tensor[]);
    this.log('train/loss', loss, { progBar: true });
    return loss;
  }

  override validationStep(batch: Batch) {
    const loss = this.loss(batch as tf.Tensor[]);
    this.log('val/loss', loss, { progBar: true });
    // bits per character: the usual figure for character models
    this.log('val/bpc', loss.div(Math.LN2) as tf.Scalar);
  }

  configureOptimizers() {
    return { optimizer: new Adam({ lr: this.hp.lr }) };
  }

  /** Samples `length` characters after `prompt`, drawing from the softmax with a seeded generator. */
  generate(prompt: string, length: number, seed = 0): string {
    const rng = new Rng(seed);
    const ids = Array.from(this.vocab.encode(prompt.padStart(this.hp.context, ' ')));
    for (let i = 0; i < length; i++) {
      const probs = tf.tidy(() => {
        const x = tf.tensor2d(ids.slice(-this.hp.context), [1, this.hp.context], 'int32');
        return tf.softmax(this.logits(x)).dataSync();
      });
      let r = rng.next();
      let next = probs.length - 1;
      for (let k = 0; k < probs.length; k++) {
        r -= probs[k]!;
        if (r < 0) {
          next = k;
          break;
        }
      }
      ids.push(next);
    }
    return prompt + this.vocab.decode(ids.slice(-length));
  }

  override onFitEnd() {
    if (this.trainer.strategy.isGlobalZero && !this.trainer.options.barebones) {
      process.stdout.write(`\n--- sample ---\n${this.generate('ROSALIND\t', 300)}\n--------------\n`);
    }
  }
}

/** The first 90% of the text trains, the rest validates. */
export class ShakespeareData extends DataModule {
  readonly text = loadShakespeare();
  readonly vocab = Vocabulary.fromText(this.text);
  private train: NextCharDataset | null = null;
  private val: NextCharDataset | null = null;

  constructor(readonly hp: CharLMHparams) {
    super();
  }

  override setup() {
    const ids = this.vocab.encode(this.text);
    const cut = Math.floor(ids.length * 0.9);
    this.train = new NextCharDataset(ids.subarray(0, cut), this.hp.context);
    this.val = new NextCharDataset(ids.subarray(cut), this.hp.context);
  }

  override trainDataloader() {
    return new DataLoader(this.train!, { batchSize: this.hp.batchSize, shuffle: true, seed: 0 });
  }

  override valDataloader() {
    return new DataLoader(this.val!, { batchSize: 1024 });
  }

  override stateDict() {
    return { vocab: this.vocab.chars.join('') };
  }

  override loadStateDict(state: Record<string, unknown>) {
    if (state.vocab !== this.vocab.chars.join(''))
      throw new Error('checkpoint was trained with a different vocabulary');
  }
}

export const experiment: Experiment<CharLMHparams> = {
  name: 'charlm',
  hparams: { context: 32, embedding: 16, hidden: 256, lr: 0.003, batchSize: 128, maxSteps: 1500 },
  trainer: (hp) => ({
    maxSteps: hp.maxSteps,
    seed: 0,
    deterministic: true,
    logEveryNSteps: 20,
    valCheckInterval: 500, // validate every 500 training batches, not once per 880-batch epoch
    limitValBatches: 4,
  }),
  // the model needs the vocabulary, which comes from the text
  model: (hp) => new CharLM(hp, Vocabulary.fromText(loadShakespeare())),
  data: (hp) => new ShakespeareData(hp),
};
// `kiln fit` calls the default export with its context; `node train.ts` runs it with KILN_HPARAMS etc.
export default defineScript(import.meta.url, (ctx: ScriptContext) => runExample(experiment, ctx));

// The three models of bench/vs-pytorch as Kiln Modules, the same shapes as torch_worker.py:
// MLP 784-256-10 (batch 128), a small CNN on 28×28 (batch 64) and a 2-block char transformer
// (vocab 64, context 32, d 64, 4 heads, ReLU MLP 256; batch 32). Adam 1e-3 everywhere: Kiln's own
// (fused TensorFlow training ops) unless `optimizer` says 'tfjs' (tf.train.adam, the earlier baseline).
import { Adam, type Batch, crossEntropy, DataLoader, Module, TensorDataset, tf } from '@kiln/trainer';

export type ModelName = 'mlp' | 'cnn' | 'transformer';
export const MODELS: ModelName[] = ['mlp', 'cnn', 'transformer'];
export type OptimizerName = 'kiln' | 'tfjs';
export const OPTIMIZERS: OptimizerName[] = ['kiln', 'tfjs'];

/** Adam, lr 1e-3, eps 1e-8 (torch's default) from Kiln or from tfjs. */
export function makeOptimizer(name: OptimizerName): tf.Optimizer {
  if (name === 'kiln') return new Adam({ lr: 1e-3, eps: 1e-8 });
  if (name === 'tfjs') return tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  throw new Error(`optimizer must be one of ${OPTIMIZERS.join(', ')}, got ${JSON.stringify(name)}`);
}
export const BATCH: Record<ModelName, number> = { mlp: 128, cnn: 64, transformer: 32 };
const SAMPLES = 4096;
const VOCAB = 64;
const SEQ = 32;
const D = 64;
const HEADS = 4;
const FF = 256;

export type LossName = 'kiln' | 'tfjs';
/**
 * Kiln's crossEntropy (TensorFlow's fused op, custom gradient) unless KILN_BENCH_LOSS=tfjs selects
 * tf.losses.softmaxCrossEntropy on one-hot labels, the loss every figure before it used.
 */
export const LOSS: LossName = process.env.KILN_BENCH_LOSS === 'tfjs' ? 'tfjs' : 'kiln';

/** Classifier on (x, integer label) batches: cross entropy, as torch's F.cross_entropy. */
abstract class Classifier extends Module {
  optimizer: OptimizerName = 'kiln';
  abstract forward(x: tf.Tensor): tf.Tensor;
  trainingStep([x, y]: tf.Tensor[]) {
    const logits = this.forward(x as tf.Tensor);
    const classes = logits.shape[logits.shape.length - 1] as number;
    // reshapes only where needed: each is a kernel call
    const labels = (y as tf.Tensor).rank === 1 ? (y as tf.Tensor) : (y as tf.Tensor).reshape([-1]);
    const flat = logits.rank === 2 ? logits : logits.reshape([-1, classes]);
    const loss =
      LOSS === 'kiln'
        ? crossEntropy(flat, labels)
        : tf.losses.softmaxCrossEntropy(tf.oneHot(labels as tf.Tensor1D, classes), flat);
    this.log('train/loss', loss as tf.Scalar);
    return loss as tf.Scalar;
  }
  configureOptimizers() {
    return { optimizer: makeOptimizer(this.optimizer) };
  }
}

export class Mlp extends Classifier {
  net = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: 256, activation: 'relu' }),
      tf.layers.dense({ units: 10 }),
    ],
  });
  forward(x: tf.Tensor) {
    return this.net.apply(x) as tf.Tensor;
  }
}

export class Cnn extends Classifier {
  net = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10 }),
    ],
  });
  forward(x: tf.Tensor) {
    return this.net.apply(x) as tf.Tensor;
  }
}

/** Weights of one linear map, initialised like torch.nn.Linear (uniform ±1/sqrt(fanIn)). */
function linear(fanIn: number, fanOut: number) {
  const bound = 1 / Math.sqrt(fanIn);
  return {
    w: tf.variable(tf.randomUniform([fanIn, fanOut], -bound, bound)),
    b: tf.variable(tf.randomUniform([fanOut], -bound, bound)),
  };
}
const apply = (x: tf.Tensor2D, l: { w: tf.Variable; b: tf.Variable }) =>
  tf.add(tf.matMul(x, l.w as tf.Tensor2D), l.b) as tf.Tensor2D;

function layerNorm(x: tf.Tensor2D, p: { g: tf.Variable; b: tf.Variable }): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), p.g), p.b) as tf.Tensor2D;
}
const norm = () => ({ g: tf.variable(tf.ones([D])), b: tf.variable(tf.zeros([D])) });

/** Pre-norm block, causal multi-head self-attention, ReLU MLP; activations kept as [B·T, D]. */
class Block {
  ln1 = norm();
  qkv = linear(D, 3 * D);
  proj = linear(D, D);
  ln2 = norm();
  ff1 = linear(D, FF);
  ff2 = linear(FF, D);

  variables(): tf.Variable[] {
    return [this.ln1, this.qkv, this.proj, this.ln2, this.ff1, this.ff2].flatMap((p) => Object.values(p));
  }

  forward(x: tf.Tensor2D, batch: number, mask: tf.Tensor): tf.Tensor2D {
    const dh = D / HEADS;
    const [q, k, v] = tf.split(apply(layerNorm(x, this.ln1), this.qkv), 3, 1);
    const heads = (z: tf.Tensor) => tf.transpose(tf.reshape(z, [batch, SEQ, HEADS, dh]), [0, 2, 1, 3]);
    const scores = tf.add(
      tf.mul(tf.matMul(heads(q as tf.Tensor), heads(k as tf.Tensor), false, true), 1 / Math.sqrt(dh)),
      mask,
    );
    const att = tf.matMul(tf.softmax(scores), heads(v as tf.Tensor));
    const merged = tf.reshape(tf.transpose(att, [0, 2, 1, 3]), [batch * SEQ, D]) as tf.Tensor2D;
    const h = tf.add(x, apply(merged, this.proj)) as tf.Tensor2D;
    return tf.add(h, apply(tf.relu(apply(layerNorm(h, this.ln2), this.ff1)), this.ff2)) as tf.Tensor2D;
  }
}

export class CharTransformer extends Classifier {
  tok = tf.variable(tf.randomNormal([VOCAB, D]));
  pos = tf.variable(tf.zeros([SEQ, D]));
  blocks = [new Block(), new Block()];
  lnF = norm();
  head = linear(D, VOCAB);
  // Module finds variables in fields, layers, Modules and arrays, not in plain objects like the blocks':
  // listed here so all 30 are trained (as PyTorch trains them), not only tok and pos.
  weights = [
    ...this.blocks.flatMap((b) => b.variables()),
    ...Object.values(this.lnF),
    ...Object.values(this.head),
  ];
  /** -1e9 above the diagonal: a position attends to itself and the past only. */
  private mask = tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([SEQ, SEQ]), -1, 0)), -1e9));

  forward(idx: tf.Tensor): tf.Tensor {
    const batch = idx.shape[0] as number;
    const emb = tf.add(tf.gather(this.tok, idx.cast('int32')), this.pos);
    let x = tf.reshape(emb, [batch * SEQ, D]) as tf.Tensor2D;
    for (const b of this.blocks) x = b.forward(x, batch, this.mask);
    return apply(layerNorm(x, this.lnF), this.head);
  }
}

export function makeModule(name: ModelName, optimizer: OptimizerName = 'kiln'): Module {
  const m = name === 'mlp' ? new Mlp() : name === 'cnn' ? new Cnn() : new CharTransformer();
  m.optimizer = optimizer;
  return m;
}

/** Synthetic data of the same shapes as the PyTorch side (uniform inputs, random labels). */
export function makeData(name: ModelName): { x: tf.Tensor; y: tf.Tensor } {
  if (name === 'mlp')
    return { x: tf.randomUniform([SAMPLES, 784]), y: tf.randomUniform([SAMPLES], 0, 10, 'int32') };
  if (name === 'cnn')
    return { x: tf.randomUniform([SAMPLES, 28, 28, 1]), y: tf.randomUniform([SAMPLES], 0, 10, 'int32') };
  const x = tf.randomUniform([SAMPLES, SEQ], 0, VOCAB, 'int32');
  // next-character targets: the sequence shifted left by one (wrapping), as torch.roll does
  const y = tf.concat([x.slice([0, 1], [SAMPLES, SEQ - 1]), x.slice([0, 0], [SAMPLES, 1])], 1);
  return { x, y };
}

/** `batch` overrides BATCH (bench/vs-pytorch-gpu trains at GPU-sized batches, up to SAMPLES). */
export function makeLoader(name: ModelName, batch = BATCH[name]): DataLoader {
  if (!Number.isInteger(batch) || batch < 1 || batch > SAMPLES)
    throw new Error(`batch must be an integer in [1, ${SAMPLES}], got ${batch}`);
  const { x, y } = makeData(name);
  return new DataLoader(new TensorDataset(x, y), {
    batchSize: batch,
    shuffle: true,
    dropLast: true,
    seed: 0,
  });
}

export type { Batch };

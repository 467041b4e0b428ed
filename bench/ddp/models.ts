// The models the DDP benchmarks train (scaling-worker.ts, update.ts): an MLP 784-256-10 and a small CNN
// on 28×28×1 (two conv 3×3 + max-pool stages, 8 and 16 filters, then dense 10).
import { tf } from '../../libs/trainer/src/index.js';

export type DdpBenchModel = 'mlp' | 'cnn';

export function makeNet(model: DdpBenchModel): tf.Sequential {
  if (model === 'cnn')
    return tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10 }),
      ],
    });
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: 256, activation: 'relu' }),
      tf.layers.dense({ units: 10 }),
    ],
  });
}

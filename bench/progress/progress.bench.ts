// What the built-in progress endpoint costs the training loop: the same MLP, data and backend trained by
// Trainer.fit (callbacks on, no logger, checkpoint or progress bar) three ways, alternated so machine
// noise hits all alike: without the endpoint (baseline), with it listening but never asked, and with a
// client asking GET /progress every --poll-ms (the operator asks every 10 s; 50 ms is a stress case). The
// client runs in this process, so its own CPU time is counted against the endpoint: an upper bound.
// Prints each repeat, medians and ratios against the baseline in CPU time and wall time. Never asserts.
//
//   node --conditions=kiln-src --import @swc-node/register/esm-register bench/progress/progress.bench.ts \
//     [--backend cpu|wasm|tensorflow] [--repeats 9] [--samples 2048] [--batch 64] [--poll-ms 50]
import { parseArgs } from 'node:util';
import {
  type Batch,
  type ConfigureOptimizersResult,
  DataLoader,
  Module,
  ProgressEndpoint,
  selectBackend,
  TensorDataset,
  Trainer,
  tf,
} from '@kiln/trainer';
import { median } from '../support/stats.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'cpu' },
    repeats: { type: 'string', default: '9' },
    samples: { type: 'string', default: '2048' },
    batch: { type: 'string', default: '64' },
    'poll-ms': { type: 'string', default: '50' },
  },
});
const backend = values.backend as 'cpu' | 'wasm' | 'tensorflow';
const repeats = Number(values.repeats);
const n = Number(values.samples);
const batchSize = Number(values.batch);
const pollMs = Number(values['poll-ms']);

await selectBackend({ backend });
const x = tf.randomUniform([n, 784], 0, 1, 'float32', 1);
const y = tf.oneHot(tf.randomUniform([n], 0, 10, 'int32', 2) as tf.Tensor1D, 10).toFloat();

class Mlp extends Module {
  net = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [784],
        units: 128,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
      tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
  trainingStep(batch: Batch): tf.Scalar {
    const [xb, yb] = batch as tf.Tensor[];
    const loss = tf.losses.softmaxCrossEntropy(yb!, this.net.apply(xb!) as tf.Tensor) as tf.Scalar;
    this.log('train/loss', loss);
    return loss;
  }
  configureOptimizers(): ConfigureOptimizersResult {
    return tf.train.adam(1e-3);
  }
}

type Mode = 'none' | 'idle' | 'polled';
interface Timing {
  wall: number;
  cpu: number;
  polls: number;
}

async function run(mode: Mode): Promise<Timing> {
  const module = new Mlp();
  const loader = new DataLoader(new TensorDataset(x, y), { batchSize });
  const endpoint = mode === 'none' ? null : new ProgressEndpoint({ port: 0 });
  let polls = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const trainer = new Trainer({
    backend,
    maxEpochs: 1,
    logger: false,
    enableCheckpointing: false,
    enableProgressBar: false,
    enableModelSummary: false,
    callbacks: endpoint ? [endpoint] : [],
  });
  if (endpoint && mode === 'polled') {
    const poll = async () => {
      const a = endpoint.address;
      if (a) {
        const res = await fetch(`http://${a.host}:${a.port}/progress`).catch(() => null);
        if (res?.ok) {
          await res.json();
          polls++;
        }
      }
      if (!stopped) timer = setTimeout(poll, pollMs);
    };
    timer = setTimeout(poll, 0);
  }
  const w0 = performance.now();
  const c0 = process.cpuUsage();
  await trainer.fit(module, { train: loader });
  const c = process.cpuUsage(c0);
  const t = { wall: performance.now() - w0, cpu: (c.user + c.system) / 1000, polls };
  stopped = true;
  clearTimeout(timer);
  module.net.dispose();
  for (const opt of trainer._optimizers()) opt.dispose();
  return t;
}

const steps = Math.ceil(n / batchSize);
console.log(
  `backend ${tf.getBackend()}, MLP 784-128-10, Adam, ${n} samples, batch ${batchSize}, ${steps} steps per run, poll every ${pollMs} ms`,
);
for (const m of ['none', 'idle', 'polled'] as const) await run(m); // warm-up
const modes: Mode[] = ['none', 'idle', 'polled'];
const got: Record<Mode, Timing[]> = { none: [], idle: [], polled: [] };
for (let r = 0; r < repeats; r++) {
  // rotate the order, so drift in machine load spreads over all three
  const order = modes.map((_, i) => modes[(i + r) % modes.length]!);
  for (const m of order) got[m].push(await run(m));
  console.log(
    `repeat ${r + 1}: ${modes.map((m) => `${m} ${got[m].at(-1)!.cpu.toFixed(1)} ms cpu / ${got[m].at(-1)!.wall.toFixed(1)} ms wall`).join(', ')}; polls ${got.polled.at(-1)!.polls}`,
  );
}
for (const kind of ['cpu', 'wall'] as const) {
  const base = median(got.none.map((t) => t[kind]));
  const parts = (['idle', 'polled'] as const).map((m) => {
    const v = median(got[m].map((t) => t[kind]));
    const paired = median(got[m].map((t, i) => t[kind] / got.none[i]![kind]));
    return `${m} ${v.toFixed(1)} ms (ratio ${(v / base).toFixed(4)}, median paired ${paired.toFixed(4)})`;
  });
  console.log(`${kind} median: none ${base.toFixed(1)} ms; ${parts.join('; ')}`);
}
console.log(`polls per polled run (median): ${median(got.polled.map((t) => t.polls))}`);
process.exit(0); // fetch's keep-alive pool would hold the process a few seconds more

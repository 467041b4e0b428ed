// Kiln (Trainer on the `tensorflow` backend) vs PyTorch (plain loop) vs PyTorch Lightning, same models,
// batch sizes, optimizer, synthetic data shapes and thread counts; runs alternated, median of repeats.
// Also a hand-written tfjs loop on the same backend, to separate the Trainer's cost from the backend's,
// Kiln with tfjs's own Adam (tf.train.adam), the optimizer it used before its fused one, and Kiln with
// tf.losses.softmaxCrossEntropy, the loss it used before its fused crossEntropy.
//   bash scripts/tensorflow/install.sh && bash bench/vs-pytorch/setup.sh
//   node --conditions=kiln-src --import @swc-node/register/esm-register bench/vs-pytorch/run.ts \
//     [--models mlp,cnn,transformer] [--repeats 3] [--threads 2] [--warmup 10] [--steps 100]
//     [--runners kiln,kiln-compiled,kiln-xla,lightning,lightning-composite]  (default: all)
// Prints figures and ratios; asserts nothing about time.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from '../support/stats.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));
const { values: a } = parseArgs({
  options: {
    models: { type: 'string', default: 'mlp,cnn,transformer' },
    repeats: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '10' },
    steps: { type: 'string', default: '100' },
    runners: { type: 'string' },
  },
});
const models = (a.models as string).split(',');
const repeats = Number(a.repeats);
const common = [
  '--threads',
  a.threads as string,
  '--warmup',
  a.warmup as string,
  '--steps',
  a.steps as string,
];

const python = execFileSync('bash', [`${here}setup.sh`], { encoding: 'utf8' }).trim();
const nodeLoader = ['--conditions=kiln-src', '--import', '@swc-node/register/esm-register'];

type Runner = { name: string; cmd: string; args: (model: string) => string[]; env?: Record<string, string> };
const allRunners: Runner[] = [
  {
    name: 'kiln',
    cmd: process.execPath,
    args: (m) => [...nodeLoader, `${here}kiln-worker.ts`, '--model', m, '--mode', 'kiln', ...common],
  },
  {
    // Trainer option compile: each training step one TensorFlow function (src/compile/)
    name: 'kiln-compiled',
    cmd: process.execPath,
    args: (m) => [
      ...nodeLoader,
      `${here}kiln-worker.ts`,
      '--model',
      m,
      '--mode',
      'kiln',
      '--compile',
      'graph',
      ...common,
    ],
  },
  {
    name: 'kiln-xla',
    cmd: process.execPath,
    args: (m) => [
      ...nodeLoader,
      `${here}kiln-worker.ts`,
      '--model',
      m,
      '--mode',
      'kiln',
      '--compile',
      'xla',
      ...common,
    ],
  },
  {
    name: 'kiln-tfjsadam',
    cmd: process.execPath,
    args: (m) => [
      ...nodeLoader,
      `${here}kiln-worker.ts`,
      ...['--model', m, '--mode', 'kiln', '--optimizer', 'tfjs'],
      ...common,
    ],
  },
  {
    // the loss every figure before Kiln's crossEntropy used: tf.losses.softmaxCrossEntropy
    name: 'kiln-tfjsloss',
    cmd: process.execPath,
    args: (m) => [...nodeLoader, `${here}kiln-worker.ts`, '--model', m, '--mode', 'kiln', ...common],
    env: { KILN_BENCH_LOSS: 'tfjs' },
  },
  {
    name: 'pytorch',
    cmd: python,
    args: (m) => [`${here}torch_worker.py`, '--model', m, '--mode', 'plain', ...common],
    // libgomp's default spin-waiting collapses PyTorch's throughput when cores are shared (measured
    // 800 vs 8,600 samples/s on the MLP here); passive waiting is the fair setting on a busy machine.
    env: { OMP_WAIT_POLICY: 'PASSIVE' },
  },
  {
    name: 'tfjs-loop',
    cmd: process.execPath,
    args: (m) => [...nodeLoader, `${here}kiln-worker.ts`, '--model', m, '--mode', 'tfjs', ...common],
  },
  {
    name: 'lightning',
    cmd: python,
    args: (m) => [`${here}torch_worker.py`, '--model', m, '--mode', 'lightning', ...common],
    env: { OMP_WAIT_POLICY: 'PASSIVE' },
  },
  {
    // the transformer's attention and LayerNorm from elementwise ops and matmuls, as Kiln's model has
    // them (TensorFlow has no fused kernel for either); MLP and CNN are the same as `lightning`
    name: 'lightning-composite',
    cmd: python,
    args: (m) => [
      `${here}torch_worker.py`,
      '--model',
      m,
      '--mode',
      'lightning',
      '--ops',
      'composite',
      ...common,
    ],
    env: { OMP_WAIT_POLICY: 'PASSIVE' },
  },
  {
    name: 'pytorch-composite',
    cmd: python,
    args: (m) => [`${here}torch_worker.py`, '--model', m, '--mode', 'plain', '--ops', 'composite', ...common],
    env: { OMP_WAIT_POLICY: 'PASSIVE' },
  },
];
const runners =
  a.runners === undefined
    ? allRunners
    : (a.runners as string).split(',').map((n) => {
        const r = allRunners.find((x) => x.name === n);
        if (!r)
          throw new Error(`--runners: no runner "${n}" (known: ${allRunners.map((x) => x.name).join(', ')})`);
        return r;
      });

interface Sample {
  /** samples per wall-clock second */
  wall: number;
  /** samples per second of the process's CPU time: steadier when other work shares the cores */
  cpu: number;
}

function runOnce(r: Runner, model: string): Sample {
  const res = spawnSync(r.cmd, r.args(model), {
    cwd: root,
    encoding: 'utf8',
    timeout: 900_000,
    env: { ...process.env, NODE_OPTIONS: '', TF_CPP_MIN_LOG_LEVEL: '2', PYTHONWARNINGS: 'ignore', ...r.env },
  });
  const line = res.stdout.trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(line);
    return { wall: j.samples_per_s, cpu: j.samples_per_cpu_s };
  } catch {
    throw new Error(`${r.name} ${model} failed (exit ${res.status}):\n${res.stderr.slice(-2000)}`);
  }
}

console.log(
  `# bench/vs-pytorch  threads=${a.threads} warmup=${a.warmup} steps=${a.steps} repeats=${repeats}`,
);
console.log(`# ${cpus()[0]?.model} × ${cpus().length}, Node ${process.version}, python ${python}`);
console.log(
  `# load average at start: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
const results: Record<string, Record<string, Sample[]>> = {};
for (let rep = 0; rep < repeats; rep++) {
  for (const model of models) {
    // Rotate the order each repeat so no framework always runs first (or right after another).
    const order = runners.map((_, i) => runners[(i + rep) % runners.length] as Runner);
    for (const r of order) {
      const sps = runOnce(r, model);
      results[model] ??= {};
      const perModel = results[model];
      perModel[r.name] ??= [];
      perModel[r.name]?.push(sps);
      console.log(
        `  rep ${rep + 1} ${model.padEnd(12)} ${r.name.padEnd(14)} ${sps.wall.toFixed(0).padStart(8)} samples/s  ${sps.cpu.toFixed(0).padStart(8)} samples/CPU-s`,
      );
    }
  }
}

console.log(
  `# load average at end: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
for (const [metric, label] of [
  ['wall', 'samples/s (wall)'],
  ['cpu', 'samples per CPU-second'],
] as const) {
  console.log(`\n${label}: median of ${repeats}     vs lightning   vs pytorch   vs kiln   runs`);
  for (const model of models) {
    const perModel = results[model] ?? {};
    const med = (name: string) => median((perModel[name] ?? []).map((x) => x[metric]));
    const light = med('lightning');
    const torch = med('pytorch');
    const eager = med('kiln');
    for (const r of runners) {
      const m = med(r.name);
      const runs = (perModel[r.name] ?? []).map((x) => x[metric].toFixed(0)).join(' ');
      console.log(
        `${model.padEnd(12)} ${r.name.padEnd(14)} ${m.toFixed(0).padStart(8)}   ${(m / light).toFixed(2).padStart(10)}×   ${Number.isFinite(torch) ? `${(m / torch).toFixed(2).padStart(8)}×` : '        –'}   ${Number.isFinite(eager) ? `${(m / eager).toFixed(2).padStart(6)}×` : '      –'}   ${runs}`,
      );
    }
  }
}

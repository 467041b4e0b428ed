// Kiln on a GPU backend (WebGPU through Dawn by default) against PyTorch and PyTorch Lightning on the
// same machine's GPU: bench/vs-pytorch's MLP, CNN and char transformer (its models.ts, kiln-worker.ts
// and torch_worker.py, not copies) at GPU-sized batches. Runs alternate (the order rotates every
// repeat), each in its own process; the figure is the median of samples per wall-clock second over
// the timed steps (warm-up steps and start-up excluded). The whole run stops starting new workers once
// its time budget is spent and says which runs it left out. Asserts nothing about time.
//
// On the GPU machine (scripts/gpu/run.sh):
//   node --conditions=kiln-src --import @swc-node/register/esm-register bench/vs-pytorch-gpu/run.ts
// Its CPU baseline, which runs anywhere (frameworks without torch here: --frameworks kiln):
//   node ... bench/vs-pytorch-gpu/run.ts --backend cpu --device cpu --batches mlp=64,cnn=16,transformer=8 \
//     --warmup 2 --steps 5 --repeats 1 --frameworks kiln
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from '../support/stats.js';
import { MODELS, type ModelName } from '../vs-pytorch/models.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const shared = fileURLToPath(new URL('../vs-pytorch/', import.meta.url));

const FRAMEWORKS = ['kiln', 'pytorch', 'lightning'] as const;
type Framework = (typeof FRAMEWORKS)[number];
const KILN_BACKENDS = ['webgpu', 'tensorflow', 'wasm', 'cpu'];
/** GPU-sized batches: large enough that kernels, not dispatch, dominate on an H100/H200-class GPU. */
const GPU_BATCHES: Record<ModelName, number> = { mlp: 2048, cnn: 512, transformer: 256 };

const { values: a } = parseArgs({
  options: {
    models: { type: 'string', default: MODELS.join(',') },
    frameworks: { type: 'string', default: FRAMEWORKS.join(',') },
    backend: { type: 'string', default: 'webgpu' },
    device: { type: 'string', default: 'cuda' },
    python: { type: 'string', default: process.env.KILN_BENCH_PYTHON ?? 'python3' },
    batches: { type: 'string' },
    repeats: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '10' },
    steps: { type: 'string', default: '50' },
    threads: { type: 'string', default: '2' },
    'budget-s': { type: 'string', default: '420' },
    json: { type: 'string' },
  },
});

/** Bad arguments are named with what was expected; nothing runs. */
function fail(field: string, expected: string, got: unknown): never {
  console.error(`bench/vs-pytorch-gpu: --${field} must be ${expected}, got ${JSON.stringify(got)}`);
  process.exit(2);
}
function positiveInt(field: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) fail(field, 'a positive integer', v);
  return n;
}
const models = (a.models as string).split(',') as ModelName[];
for (const m of models) if (!MODELS.includes(m)) fail('models', `a list of ${MODELS.join(', ')}`, a.models);
const frameworks = (a.frameworks as string).split(',') as Framework[];
for (const f of frameworks)
  if (!FRAMEWORKS.includes(f)) fail('frameworks', `a list of ${FRAMEWORKS.join(', ')}`, a.frameworks);
if (!KILN_BACKENDS.includes(a.backend as string)) fail('backend', KILN_BACKENDS.join(' | '), a.backend);
if (a.device !== 'cuda' && a.device !== 'cpu') fail('device', "'cuda' | 'cpu'", a.device);
const batches: Record<ModelName, number> = { ...GPU_BATCHES };
for (const pair of (a.batches ?? '').split(',').filter(Boolean)) {
  const [m, b] = pair.split('=');
  if (!MODELS.includes(m as ModelName))
    fail('batches', 'model=batch pairs, e.g. mlp=2048,cnn=512', a.batches);
  batches[m as ModelName] = positiveInt('batches', b);
}
const repeats = positiveInt('repeats', a.repeats);
const warmup = positiveInt('warmup', a.warmup);
const steps = positiveInt('steps', a.steps);
const threads = positiveInt('threads', a.threads);
const budgetMs = positiveInt('budget-s', a['budget-s']) * 1000;
const python = a.python as string;

// PyTorch's side needs the python that holds torch and lightning (the GPU machine's own python3)
if (frameworks.some((f) => f !== 'kiln')) {
  const probe = spawnSync(
    python,
    ['-c', 'import torch, lightning; print(torch.__version__, lightning.__version__)'],
    {
      encoding: 'utf8',
    },
  );
  if (probe.status !== 0) {
    const why = (probe.stderr || String(probe.error ?? '')).trim().split('\n').pop();
    fail('python', `a python with torch and lightning (or --frameworks kiln)`, `${python}: ${why}`);
  }
  console.log(`# ${python}: torch ${probe.stdout.trim().replace(' ', ', lightning ')}`);
}

const nodeLoader = ['--conditions=kiln-src', '--import', '@swc-node/register/esm-register'];
const common = (m: ModelName) => [
  ...['--model', m, '--warmup', String(warmup), '--steps', String(steps)],
  ...['--threads', String(threads), '--batch', String(batches[m])],
];
const command = (f: Framework, m: ModelName): [string, string[]] =>
  f === 'kiln'
    ? [
        process.execPath,
        [
          ...nodeLoader,
          `${shared}kiln-worker.ts`,
          '--mode',
          'kiln',
          '--backend',
          a.backend as string,
          ...common(m),
        ],
      ]
    : [
        python,
        [
          `${shared}torch_worker.py`,
          '--mode',
          f === 'pytorch' ? 'plain' : 'lightning',
          '--device',
          a.device as string,
          ...common(m),
        ],
      ];

interface Result {
  samples_per_s: number;
  /** what each side reports about where it ran (tfjs backend, or the CUDA device name) */
  where: string;
  ms: number;
}

/**
 * One worker process; resolves on its JSON line. A worker that printed its figure but does not exit
 * (a native GPU binding holding the event loop) is ended after a grace period: its figure stands.
 */
function runOnce(f: Framework, m: ModelName, timeoutMs: number): Promise<Result> {
  const [cmd, args] = command(f, m);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '', TF_CPP_MIN_LOG_LEVEL: '2', PYTHONWARNINGS: 'ignore' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let result: Result | undefined;
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      for (const line of out.split('\n')) {
        if (result || !line.startsWith('{')) continue;
        try {
          const j = JSON.parse(line);
          result = {
            samples_per_s: j.samples_per_s,
            where: j.device ?? j.backend ?? '?',
            ms: Date.now() - started,
          };
          clearTimeout(kill);
          setTimeout(() => child.kill('SIGKILL'), 5000).unref();
        } catch {
          // a partial line: the rest comes with the next chunk
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d).slice(-4000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      if (result) resolve(result);
      else
        reject(
          new Error(`${f} ${m} failed (exit ${code ?? signal}) after ${Date.now() - started} ms:\n${err}`),
        );
    });
  });
}

const t0 = Date.now();
console.log(
  `# bench/vs-pytorch-gpu  kiln backend=${a.backend}  torch device=${a.device}  warmup=${warmup} steps=${steps} repeats=${repeats} budget=${budgetMs / 1000}s`,
);
console.log(`# ${cpus()[0]?.model} × ${cpus().length}, Node ${process.version}`);
const runs: Record<string, Result[]> = {};
const skipped: string[] = [];
for (let rep = 0; rep < repeats; rep++) {
  for (const m of models) {
    // rotate the order each repeat so no framework always runs first (or right after another)
    const order = frameworks.map((_, i) => frameworks[(i + rep) % frameworks.length] as Framework);
    for (const f of order) {
      const key = `${m}/${f}`;
      const left = budgetMs - (Date.now() - t0);
      // a run that took this long before would not fit: leave it out rather than overrun the budget
      const expected = Math.max(0, ...(runs[key] ?? []).map((r) => r.ms));
      if (left <= expected || left < 1000) {
        skipped.push(`rep ${rep + 1} ${key}`);
        continue;
      }
      const r = await runOnce(f, m, left);
      runs[key] ??= [];
      runs[key].push(r);
      console.log(
        `  rep ${rep + 1} ${m.padEnd(12)} ${f.padEnd(10)} batch ${String(batches[m]).padStart(5)} ${r.samples_per_s.toFixed(0).padStart(9)} samples/s  (${r.where}, ${(r.ms / 1000).toFixed(1)} s)`,
      );
    }
  }
}

const table: {
  model: ModelName;
  framework: Framework;
  batch: number;
  median: number;
  runs: number[];
  where: string;
}[] = [];
console.log('\nsamples/s (wall), median     vs lightning  vs pytorch   runs');
for (const m of models) {
  const med = (f: Framework) => median((runs[`${m}/${f}`] ?? []).map((r) => r.samples_per_s));
  for (const f of frameworks) {
    const rs = runs[`${m}/${f}`] ?? [];
    if (rs.length === 0) {
      console.log(`${m.padEnd(12)} ${f.padEnd(10)} (not run: budget spent)`);
      continue;
    }
    const v = med(f);
    const ratio = (base: Framework) =>
      frameworks.includes(base) && runs[`${m}/${base}`]?.length ? `${(v / med(base)).toFixed(2)}×` : '-';
    table.push({
      model: m,
      framework: f,
      batch: batches[m],
      median: v,
      runs: rs.map((r) => r.samples_per_s),
      where: rs[0]?.where ?? '',
    });
    console.log(
      `${m.padEnd(12)} ${f.padEnd(10)} ${v.toFixed(0).padStart(9)}   ${ratio('lightning').padStart(10)}  ${ratio('pytorch').padStart(10)}   ${rs.map((r) => r.samples_per_s.toFixed(0)).join(' ')}`,
    );
  }
}
if (skipped.length) console.log(`\n# left out (budget of ${budgetMs / 1000}s spent): ${skipped.join(', ')}`);
console.log(`# total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
if (a.json) writeFileSync(a.json, `${JSON.stringify({ args: a, batches, table, skipped }, null, 2)}\n`);

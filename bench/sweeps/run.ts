// bench/sweeps: Kiln's search against Optuna 5 on the same functions, seeds and budgets, plus ask+tell
// latency. Never run in CI. Usage (niced, it shares the machine):
//   nice -n 10 node --conditions=kiln-src --import @swc-node/register/esm-register bench/sweeps/run.ts [--quick] [--seeds N] [--reuse-optuna] [--kiln-seeds-from N]
// Default 20 seeds; --quick: 5. 100 trials per run (the 50-trial column is the first 50 of the same runs).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { homedir, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { SweepParameter } from '@kiln/spec';
import { createSearch, type SearchSpec, type TrialRecord } from '@kiln/sweeps';
import { type BenchFunction, FUNCTIONS } from './functions.js';
import { mannWhitney, median } from './stats.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const seedsArg = args.indexOf('--seeds');
const SEEDS = seedsArg >= 0 ? Number(args[seedsArg + 1]) : quick ? 5 : 20;
const TRIALS = 100;
const CHECKPOINTS = [50, 100];
const BATCHES = [1, 8];
const ALGORITHMS = ['tpe', 'random'] as const;
type Algorithm = (typeof ALGORITHMS)[number];
const seeds = Array.from({ length: SEEDS }, (_, i) => i);
// --kiln-seeds-from N: Kiln's runs use seeds N, N+1, … (with --reuse-optuna, a second independent draw
// of Kiln's side against the same Optuna runs).
const fromArg = args.indexOf('--kiln-seeds-from');
const kilnSeeds = seeds.map((s) => s + (fromArg >= 0 ? Number(args[fromArg + 1]) : 0));

interface QualityJob {
  mode: 'quality';
  function: string;
  algorithm: Algorithm;
  seeds: number[];
  trials: number;
  batch: number;
}
interface LatencyJob {
  mode: 'latency';
  history: number[];
  dims: number;
  repeats: number;
}

const root = new URL('../..', import.meta.url).pathname;
const python = execFileSync('bash', [join(root, 'bench/sweeps/setup.sh')], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
}).trim();
const load0 = loadavg();

// Optuna runs in one child process writing to a file, so it makes progress while Kiln computes here.
const jobs: (QualityJob | LatencyJob)[] = [];
for (const fn of FUNCTIONS) {
  for (const batch of BATCHES) {
    for (const algorithm of ALGORITHMS)
      jobs.push({ mode: 'quality', function: fn.name, algorithm, seeds, trials: TRIALS, batch });
  }
}
jobs.push({ mode: 'latency', history: [100, 1000], dims: 6, repeats: 20 });
// Optuna's results are kept under $KILN_CACHE; --reuse-optuna reads them instead of rerunning Optuna
// (for rerunning only the Kiln side after a change).
const cache = join(process.env.KILN_CACHE ?? join(homedir(), '.cache/kiln'), 'optuna');
mkdirSync(cache, { recursive: true });
const outPath = join(cache, `bench-sweeps-results-${SEEDS}-seeds.jsonl`);
const reuse = args.includes('--reuse-optuna') && existsSync(outPath);
const optunaStart = performance.now();
const optunaDone = reuse
  ? Promise.resolve(0)
  : new Promise<number>((resolve, reject) => {
      const child = spawn(python, [join(root, 'bench/sweeps/optuna_runner.py')], {
        stdio: ['pipe', openSync(outPath, 'w'), 'inherit'],
      });
      child.stdin?.end(JSON.stringify({ jobs }));
      child.on('exit', (code) =>
        code === 0
          ? resolve(performance.now() - optunaStart)
          : reject(new Error(`optuna_runner exited ${code}`)),
      );
    });

function kilnSpec(fn: BenchFunction, algorithm: Algorithm, seed: number, batch: number): SearchSpec {
  return {
    objective: { metric: 'value', goal: 'minimize' },
    algorithm:
      algorithm === 'tpe'
        ? { type: 'tpe', seed, startupTrials: 10, candidates: 24 }
        : { type: 'random', seed },
    parameters: fn.parameters,
    maxTrials: TRIALS,
    parallelism: batch,
  };
}

function runKiln(fn: BenchFunction, algorithm: Algorithm, seed: number, batch: number): number[] {
  const s = createSearch(kilnSpec(fn, algorithm, seed, batch));
  const values: number[] = [];
  while (values.length < TRIALS) {
    const asked = s.ask(Math.min(batch, TRIALS - values.length));
    const results = asked.map((t) => fn.f(t.params));
    asked.forEach((t, i) => {
      s.tell(t.number, { value: results[i] as number });
      values.push(results[i] as number);
    });
  }
  return values;
}

const bestAt = (values: readonly number[], n: number) => Math.min(...values.slice(0, n));
const key = (fn: string, algorithm: string, batch: number) => `${fn}/${algorithm}/${batch}`;

const kiln = new Map<string, number[][]>();
const kilnStart = performance.now();
for (const fn of FUNCTIONS) {
  for (const batch of BATCHES) {
    for (const algorithm of ALGORITHMS) {
      kiln.set(
        key(fn.name, algorithm, batch),
        kilnSeeds.map((seed) => runKiln(fn, algorithm, seed, batch)),
      );
    }
  }
}
const kilnMs = performance.now() - kilnStart;

// Latency: ask+tell of one trial with 100 and 1,000 finished trials in 6 dimensions (TPE).
interface Latency {
  ms: number[];
  cpu_ms: number[];
}
function kilnLatency(history: number, repeats: number): Latency {
  const parameters: Record<string, SweepParameter> = Object.fromEntries(
    [0, 1, 2, 3, 4, 5].map((i) => [`x${i}`, { type: 'uniform', min: 0, max: 1 }]),
  );
  const spec: SearchSpec = {
    objective: { metric: 'value', goal: 'minimize' },
    algorithm: { type: 'tpe', seed: 1, startupTrials: 10, candidates: 24 },
    parameters,
    maxTrials: history + repeats,
    parallelism: 1,
  };
  let x = 12345;
  const rnd = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
  const rows: TrialRecord[] = Array.from({ length: history }, (_, number) => {
    const params = Object.fromEntries(Object.keys(parameters).map((k) => [k, rnd()]));
    const value = Object.values(params).reduce((a, v) => a + (v - 0.3) ** 2, 0);
    return { number, params, state: 'complete', value, intermediate: [] };
  });
  const s = createSearch(spec, rows);
  const out: Latency = { ms: [], cpu_ms: [] };
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const [t] = s.ask(1) as [TrialRecord];
    s.tell(t.number, {
      value: Object.values(t.params).reduce((a: number, v) => a + ((v as number) - 0.3) ** 2, 0),
    });
    const c = process.cpuUsage(c0);
    out.ms.push(performance.now() - t0);
    out.cpu_ms.push((c.user + c.system) / 1000);
  }
  return out;
}
const kilnLat = new Map([100, 1000].map((h) => [h, kilnLatency(h, 20)]));

const optunaMs = await optunaDone;
const load1 = loadavg();
const optuna = new Map<string, number[][]>();
const optunaLat = new Map<number, Latency>();
const optunaBest = new Map<string, Record<string, unknown>[]>();
for (const line of readFileSync(outPath, 'utf8').trim().split('\n')) {
  const r = JSON.parse(line) as {
    job: number;
    values?: number[];
    best_params?: Record<string, unknown>;
    history?: number;
    ms?: number[];
    cpu_ms?: number[];
  };
  const job = jobs[r.job] as QualityJob | LatencyJob;
  if (job.mode === 'latency') optunaLat.set(r.history as number, { ms: r.ms ?? [], cpu_ms: r.cpu_ms ?? [] });
  else {
    const k = key(job.function, job.algorithm, job.batch);
    optuna.set(k, [...(optuna.get(k) ?? []), r.values as number[]]);
    optunaBest.set(k, [...(optunaBest.get(k) ?? []), r.best_params as Record<string, unknown>]);
  }
}

// Both sides must optimize the same function: Optuna's best points re-evaluated here give its values.
for (const fn of FUNCTIONS) {
  const k = key(fn.name, 'tpe', 1);
  (optunaBest.get(k) ?? []).forEach((p, i) => {
    const mine = fn.f(p as TrialRecord['params']);
    const theirs = bestAt((optuna.get(k) as number[][])[i] as number[], TRIALS);
    if (Math.abs(mine - theirs) > 1e-9 * Math.max(1, Math.abs(theirs))) {
      throw new Error(`${fn.name}: functions.ts gives ${mine} at Optuna's best point, Optuna ${theirs}`);
    }
  });
}

const fmt = (v: number) =>
  Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : v.toFixed(3);
const lines: string[] = [];
lines.push(
  `Seeds ${SEEDS} per cell (Kiln ${kilnSeeds[0]}…${kilnSeeds.at(-1)}, Optuna ${seeds[0]}…${seeds.at(-1)}), ${TRIALS} trials (the 50 column is the first 50 trials of the same runs).`,
);
lines.push(
  `Load average (1/5/15 min) at start ${load0.map((l) => l.toFixed(1)).join('/')}, at end ${load1.map((l) => l.toFixed(1)).join('/')}; Kiln runs ${(kilnMs / 1000).toFixed(0)} s, Optuna runs ${reuse ? 'reused from an earlier run' : `${(optunaMs / 1000).toFixed(0)} s (in parallel)`}.`,
);
lines.push('');
lines.push(
  '| function (optimum) | algorithm | asked per round | trials | Kiln median best | Optuna median best | P(Kiln < Optuna) | p (Mann–Whitney) | verdict |',
);
lines.push('|---|---|---|---|---|---|---|---|---|');
const tally = { beats: 0, matches: 0, loses: 0 };
for (const algorithm of ALGORITHMS) {
  for (const fn of FUNCTIONS) {
    for (const batch of BATCHES) {
      for (const n of CHECKPOINTS) {
        const k = key(fn.name, algorithm, batch);
        const a = (kiln.get(k) as number[][]).map((v) => bestAt(v, n));
        const b = (optuna.get(k) as number[][]).map((v) => bestAt(v, n));
        const c = mannWhitney(a, b);
        const verdict = c.p < 0.05 ? (c.pLower > 0.5 ? 'beats' : 'loses') : 'matches';
        if (algorithm === 'tpe') tally[verdict]++;
        lines.push(
          `| ${fn.name} (${fn.optimum}) | ${algorithm} | ${batch} | ${n} | ${fmt(median(a))} | ${fmt(median(b))} | ${c.pLower.toFixed(2)} | ${c.p.toFixed(3)} | ${verdict} |`,
        );
      }
    }
  }
}
lines.push('');
lines.push(
  `TPE cells: ${tally.beats} beats, ${tally.matches} matches, ${tally.loses} loses (p < 0.05 two-sided).`,
);
lines.push('');
lines.push(
  'ask+tell latency, TPE, 6 uniform dimensions, one trial on top of a history of finished trials (median of 20; CPU time of the process, and wall time, which on a shared machine includes waiting for a core):',
);
lines.push('');
lines.push(
  '| finished trials | Kiln CPU ms | Optuna 5.0.0 CPU ms | Kiln / Optuna (CPU) | Kiln wall ms | Optuna wall ms |',
);
lines.push('|---|---|---|---|---|---|');
for (const h of [100, 1000]) {
  const k = kilnLat.get(h) as Latency;
  const o = optunaLat.get(h) as Latency;
  const [kc, oc] = [median(k.cpu_ms), median(o.cpu_ms)];
  lines.push(
    `| ${h} | ${kc.toFixed(2)} | ${oc.toFixed(2)} | ${(kc / oc).toFixed(2)} | ${median(k.ms).toFixed(2)} | ${median(o.ms).toFixed(2)} |`,
  );
}
console.log(lines.join('\n'));

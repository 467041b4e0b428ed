// DDP training throughput: 1 rank vs 2 ranks, each rank pinned to its own core (taskset) with one
// intra-op thread, on an MLP (784-256-10) and a small CNN, same per-rank batch (as DDP is used).
// Prints global samples/s and the scaling efficiency = throughput(2) / (2 × throughput(1)), next to
// the machine's own ceiling measured in the same run: two independent 1-rank processes at once, one
// per core (shared caches, memory bandwidth and host noise, no communication). Asserts nothing.
// BENCH_BACKEND=tensorflow uses the native backend where it is installed (default cpu);
// BENCH_PROFILE=1 prints each rank's Trainer profile (stderr).
//   node --conditions=kiln-src --import @swc-node/register/esm-register bench/ddp/scaling.ts
import { runPinned as run } from './pinned-ranks.js';

const configs: [string, Record<string, string>][] = [
  ['mlp', { BATCH: process.env.MLP_BATCH ?? '64', STEPS: process.env.MLP_STEPS ?? '200', WARMUP: '10' }],
  ['cnn', { BATCH: process.env.CNN_BATCH ?? '16', STEPS: process.env.CNN_STEPS ?? '60', WARMUP: '5' }],
];
const rows: Record<string, string | number>[] = [];
for (const [model, env] of configs) {
  const r1 = await run(model, 1, env);
  process.stderr.write(`${model}: 1 rank ${Math.round(r1.samplesPerSec)} samples/s\n`);
  const r2 = await run(model, 2, env);
  process.stderr.write(`${model}: 2 ranks ${Math.round(r2.samplesPerSec)} samples/s\n`);
  const pair = await run(model, 2, env, true);
  process.stderr.write(`${model}: 2 independent 1-rank runs ${Math.round(pair.samplesPerSec)} samples/s\n`);
  const one = r1.samplesPerSec;
  const two = r2.samplesPerSec;
  rows.push({
    model,
    'per-rank batch': Number(env.BATCH),
    '1 rank samples/s': Math.round(one),
    '2 ranks samples/s': Math.round(two),
    speedup: +(two / one).toFixed(2),
    'scaling efficiency': +(two / (2 * one)).toFixed(2),
    'machine ceiling': +(pair.samplesPerSec / (2 * one)).toFixed(2),
    'DDP / ceiling': +(two / pair.samplesPerSec).toFixed(2),
    '2-rank step ms': +r2.stepMs.toFixed(1),
    'all-reduce ms/step': +r2.commMsPerStep.toFixed(1),
    'all-reduce share': +(r2.commMsPerStep / r2.stepMs).toFixed(3),
  });
}
console.log(
  `DDP scaling, backend ${process.env.BENCH_BACKEND ?? 'cpu'}, one core and one intra-op thread per rank (goal ≥ 0.85)`,
);
console.table(rows);
console.log(
  'machine ceiling: two independent 1-rank runs at once / 2 × one alone. all-reduce share: the part of a 2-rank step spent averaging gradients (waiting for the slower rank included)',
);

// DDP training throughput: 1 rank vs 2 ranks, each rank pinned to its own core (taskset) with one
// intra-op thread, on an MLP (784-256-10) and a small CNN, same per-rank batch (as DDP is used).
// Prints global samples/s and the scaling efficiency = throughput(2) / (2 × throughput(1)); asserts
// nothing. BENCH_BACKEND=tensorflow uses the native backend where it is installed (default cpu).
//   node --conditions=kiln-src --import @swc-node/register/esm-register bench/ddp/scaling.ts
import { spawn } from 'node:child_process';
import { freePort } from '../../libs/trainer/src/distributed/launcher.js';

const worker = new URL('./scaling-worker.ts', import.meta.url).pathname;

async function run(model: string, world: number, env: Record<string, string>) {
  const port = await freePort();
  const outputs = await Promise.all(
    Array.from({ length: world }, (_, rank) => {
      const child = spawn('taskset', ['-c', String(rank), process.execPath, ...process.execArgv, worker], {
        env: {
          ...process.env,
          ...env,
          MODEL: model,
          MASTER_ADDR: '127.0.0.1',
          MASTER_PORT: String(port),
          WORLD_SIZE: String(world),
          RANK: String(rank),
          LOCAL_RANK: String(rank),
          LOCAL_WORLD_SIZE: String(world),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      return new Promise<string>((resolve, reject) =>
        child.once('exit', (code) =>
          code === 0 ? resolve(out) : reject(new Error(`${model} rank ${rank} exited ${code}`)),
        ),
      );
    }),
  );
  const line = (outputs[0] ?? '').split('\n').find((l) => l.startsWith('{"model"'));
  if (!line) throw new Error(`${model}: rank 0 printed no result`);
  return JSON.parse(line) as { samplesPerSec: number; stepMs: number; commMsPerStep: number };
}

const configs: [string, Record<string, string>][] = [
  ['mlp', { BATCH: process.env.MLP_BATCH ?? '64', STEPS: process.env.MLP_STEPS ?? '20', WARMUP: '3' }],
  ['cnn', { BATCH: process.env.CNN_BATCH ?? '16', STEPS: process.env.CNN_STEPS ?? '8', WARMUP: '2' }],
];
const rows: Record<string, string | number>[] = [];
for (const [model, env] of configs) {
  const r1 = await run(model, 1, env);
  process.stderr.write(`${model}: 1 rank ${Math.round(r1.samplesPerSec)} samples/s\n`);
  const r2 = await run(model, 2, env);
  process.stderr.write(`${model}: 2 ranks ${Math.round(r2.samplesPerSec)} samples/s\n`);
  const one = r1.samplesPerSec;
  const two = r2.samplesPerSec;
  rows.push({
    model,
    'per-rank batch': Number(env.BATCH),
    '1 rank samples/s': Math.round(one),
    '2 ranks samples/s': Math.round(two),
    speedup: +(two / one).toFixed(2),
    'scaling efficiency': +(two / (2 * one)).toFixed(2),
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
  'all-reduce share: the part of a 2-rank step spent averaging gradients; 1 − share bounds the efficiency a quiet machine reaches',
);

// DDP with compiled steps against eager DDP: 2 ranks (one core and one intra-op thread each, as in
// scaling.ts) on the tensorflow backend, the same MLP and CNN, alternated REPEATS times: eager steps;
// compiled forward + backward with the update after the all-reduce eager (the default); the same with
// the update compiled too (KILN_DDP_COMPILED_UPDATE=1). Prints the median global samples/s of each,
// and the all-reduce's ms per step. Asserts nothing.
//   node --conditions=kiln-src --import @swc-node/register/esm-register bench/ddp/compiled.ts
import { loadavg } from 'node:os';
import { median } from '../support/stats.js';
import { type Result, runPinned } from './pinned-ranks.js';

const repeats = Number(process.env.REPEATS ?? 3);

const run = (model: string, env: Record<string, string>) =>
  runPinned(model, 2, { ...env, BENCH_BACKEND: 'tensorflow' });

const modes: [string, Record<string, string>][] = [
  ['eager', {}],
  ['compiled', { BENCH_COMPILE: '1' }],
  ['compiled, update compiled', { BENCH_COMPILE: '1', KILN_DDP_COMPILED_UPDATE: '1' }],
];
const configs: [string, Record<string, string>][] = [
  ['mlp', { BATCH: process.env.MLP_BATCH ?? '64', STEPS: process.env.MLP_STEPS ?? '300', WARMUP: '10' }],
  ['cnn', { BATCH: process.env.CNN_BATCH ?? '16', STEPS: process.env.CNN_STEPS ?? '100', WARMUP: '10' }],
];
console.log(
  `load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
const rows: Record<string, string | number>[] = [];
for (const [model, env] of configs) {
  const got = new Map<string, Result[]>(modes.map(([m]) => [m, []]));
  for (let r = 0; r < repeats; r++) {
    // rotate the order so drift in machine load spreads over the modes
    for (let k = 0; k < modes.length; k++) {
      const [mode, extra] = modes[(k + r) % modes.length] as [string, Record<string, string>];
      const res = await run(model, { ...env, ...extra });
      got.get(mode)?.push(res);
      process.stderr.write(`${model} ${mode}: ${Math.round(res.samplesPerSec)} samples/s\n`);
    }
  }
  const eager = median((got.get('eager') ?? []).map((r) => r.samplesPerSec));
  for (const [mode] of modes) {
    const rs = got.get(mode) ?? [];
    const sps = median(rs.map((r) => r.samplesPerSec));
    rows.push({
      model,
      mode,
      'per-rank batch': Number(env.BATCH),
      'samples/s (median)': Math.round(sps),
      'vs eager': +(sps / eager).toFixed(2),
      'step ms': +median(rs.map((r) => r.stepMs)).toFixed(2),
      'all-reduce ms/step': +median(rs.map((r) => r.commMsPerStep)).toFixed(2),
    });
  }
}
console.log(`DDP, 2 ranks, tensorflow backend, compiled vs eager steps (medians of ${repeats})`);
console.table(rows);
console.log(
  `load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);

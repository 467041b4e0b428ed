// All-reduce bus bandwidth of the DDP ring, 2 ranks on loopback, beside a plain TCP stream between
// the same two processes measured in the same run (the ceiling). Prints figures; asserts nothing.
//   node --conditions=kiln-src --import @swc-node/register/esm-register bench/ddp/allreduce.ts
// SIZES_MB=1,4,16,64,256 by default; CHUNK_BYTES sets the ring's pipelining unit (default 1 MiB).
import { Writable } from 'node:stream';
import { launch } from '../../libs/trainer/src/distributed/launcher.js';

async function run(env: Record<string, string>) {
  let json = '';
  const capture = new Writable({
    write(chunk, _e, cb) {
      const s = String(chunk);
      if (s.startsWith('[rank 0] {')) json = s.slice('[rank 0] '.length);
      else process.stderr.write(s);
      cb();
    },
  });
  const r = await launch({
    script: new URL('./allreduce-worker.ts', import.meta.url).pathname,
    devices: 2,
    env,
    stdout: capture,
  });
  if (r.exitCode !== 0 || !json) {
    console.error(`benchmark ranks failed (exit ${r.exitCode})`);
    process.exit(1);
  }
  return JSON.parse(json) as { rows: Record<string, number>[]; kernels: Record<string, number> };
}

// Two ways to do the reduction, each run beside its own stream measurement.
const modes: [string, Record<string, string>][] = [
  ['js loop (plain Float32Array)', { KILN_DDP_ADD: 'js' }],
  ['simd in place (DDP buckets)', { ARENA: '1' }],
];
const table: Record<string, number | string>[] = [];
let kernels: Record<string, number> = {};
for (const [name, env] of modes) {
  const out = await run(env);
  kernels = out.kernels;
  for (const row of out.rows) table.push({ reduction: name, ...row });
}
console.log('DDP ring all-reduce, 2 ranks on loopback, vs a plain TCP stream between the same processes');
console.table(table);
console.log('reduction kernels, GB/s of float32 output (one process):', JSON.stringify(kernels));
for (const row of table.filter((r) => r['size MB'] === 64)) {
  console.log(
    `64 MiB, ${row.reduction}: busbw ${row['busbw GB/s']} GB/s = ${row['busbw/stream']}× the stream (goal ≥ 0.5)`,
  );
}

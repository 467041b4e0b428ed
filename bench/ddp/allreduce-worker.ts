// One of the two ranks of bench/ddp/allreduce.ts. Measures, between the same two processes and in the
// same run: a plain one-way TCP stream (the ceiling), then the ring all-reduce, for each size.
import { connect, createServer, type Socket } from 'node:net';
import { ProcessGroup } from '../../libs/trainer/src/distributed/process-group.js';
import { allocReduceBuffer } from '../../libs/trainer/src/distributed/simd-add.js';

const MB = 1 << 20;
const sizesMb = (process.env.SIZES_MB ?? '1,4,16,64,256').split(',').map(Number);
const pg = await ProcessGroup.init({ chunkBytes: Number(process.env.CHUNK_BYTES) || undefined });
const iters = (mb: number) => Math.max(3, Math.min(20, Math.round(256 / mb)));

// The plain stream: rank 0 sends `bytes` to rank 1 from one preallocated buffer; rank 1 reads into one
// preallocated buffer and answers one byte when it has them all.
let sock: Socket;
const readBuf = Buffer.allocUnsafe(4 << 20);
let want = 0;
let got = 0;
let onAll: (() => void) | undefined;
if (pg.rank === 1) {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen({ host: '127.0.0.1', port: 0 }, r));
  await pg.kv.set('stream', String((srv.address() as { port: number }).port));
  sock = await new Promise<Socket>((r) => srv.once('connection', r));
  srv.close();
  sock.on('data', () => {});
} else {
  const [port] = await pg.kv.wait(['stream'], 30_000);
  sock = await new Promise<Socket>((resolve) => {
    const s = connect({
      host: '127.0.0.1',
      port: Number(port),
      onread: {
        buffer: readBuf,
        callback: (n) => {
          got += n;
          if (got >= want) onAll?.();
          return true;
        },
      },
    });
    s.once('connect', () => resolve(s));
  });
}
sock.setNoDelay(true);

/** Rank 1 streams `bytes` to rank 0; returns seconds (rank 0's clock, from its request to the last byte). */
async function stream(bytes: number, payload: Buffer): Promise<number> {
  await pg.barrier();
  if (pg.rank === 1) {
    await new Promise<void>((r) => sock.once('data', () => r()));
    for (let off = 0; off < bytes; off += payload.length)
      sock.write(payload.subarray(0, Math.min(payload.length, bytes - off)));
    await pg.barrier();
    return 0;
  }
  want = bytes;
  got = 0;
  const done = new Promise<void>((r) => {
    onAll = r;
  });
  const t0 = performance.now();
  sock.write('g');
  await done;
  const dt = (performance.now() - t0) / 1000;
  await pg.barrier();
  return dt;
}

const rows: Record<string, number | string>[] = [];
for (const mb of sizesMb) {
  const bytes = mb * MB;
  const payload = Buffer.alloc(Math.min(bytes, 16 * MB), 1);
  const buf = (process.env.ARENA ? allocReduceBuffer(bytes / 4) : new Float32Array(bytes / 4)).fill(1);
  const n = iters(mb);
  await stream(bytes, payload); // warm-up
  const streamTimes: number[] = [];
  for (let i = 0; i < n; i++) streamTimes.push(await stream(bytes, payload));
  await pg.allReduce(buf); // warm-up
  const arTimes: number[] = [];
  for (let i = 0; i < n; i++) {
    await pg.barrier();
    const t0 = performance.now();
    await pg.allReduce(buf);
    arTimes.push((performance.now() - t0) / 1000);
  }
  const times = new Float64Array(arTimes);
  await pg.allReduce(times, 'max'); // the collective is as slow as its slowest rank
  if (pg.rank === 0) {
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const tStream = median(streamTimes);
    const tAr = median(Array.from(times));
    const N = pg.worldSize;
    const streamGBs = bytes / tStream / 1e9;
    const busGBs = ((2 * (N - 1)) / N) * (bytes / tAr / 1e9);
    rows.push({
      'size MB': mb,
      'stream GB/s': +streamGBs.toFixed(3),
      'allreduce ms': +(tAr * 1000).toFixed(1),
      'algbw GB/s': +(bytes / tAr / 1e9).toFixed(3),
      'busbw GB/s': +busGBs.toFixed(3),
      'busbw/stream': +(busGBs / streamGBs).toFixed(2),
    });
  }
}

if (pg.rank === 0) {
  // The reduction itself, in this process: what the add costs next to a copy.
  const n = 4 * MB; // float32s: 16 MiB arrays
  const a = new Float32Array(n).fill(1);
  const b = new Float32Array(n).fill(2);
  const time = (f: () => void) => {
    f();
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) f();
    return (performance.now() - t0) / 5 / 1000;
  };
  const { kernelFor } = await import('../../libs/trainer/src/distributed/reduce-kernels.js');
  const { SimdMemory } = await import('../../libs/trainer/src/distributed/simd-add.js');
  const add = kernelFor('float32', 'sum');
  const simd = SimdMemory.create(8 * n);
  if (!simd) throw new Error('WebAssembly SIMD is unavailable in this Node');
  const gbs = (t: number) => +((4 * n) / t / 1e9).toFixed(2);
  const kernels = {
    'js add': gbs(time(() => add(a, 0, b, n))),
    'simd add in place': gbs(time(() => simd.add(0, 4 * n, n))),
    'simd add + copy in/out': gbs(
      time(() => {
        simd.bytes.set(new Uint8Array(a.buffer), 0);
        simd.add(0, 4 * n, n);
        a.set(new Float32Array(simd.memory.buffer, 0, n));
      }),
    ),
    memcpy: gbs(time(() => a.set(b))),
  };
  console.log(JSON.stringify({ rows, kernels }));
}
sock.destroy();
await pg.destroy();

// One rank of the collectives test: runs every collective on deterministic random buffers and checks
// the results against values computed locally from every rank's seed. Exits non-zero on any mismatch.
import assert from 'node:assert/strict';
import { ProcessGroup } from '../../src/distributed/process-group.js';
import { allocReduceBuffer } from '../../src/distributed/simd-add.js';

function fill(buf: Float32Array | Float64Array, seed: number): void {
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = ((x >>> 0) / 4294967296) * 2 - 1;
  }
}

/** FNV-1a over the raw bytes, so ranks can compare results bit for bit. */
function digest(buf: Float32Array | Float64Array): number {
  const u = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  let h = 2166136261;
  for (let i = 0; i < u.length; i++) h = Math.imul(h ^ (u[i] as number), 16777619) >>> 0;
  return h;
}

const pg = await ProcessGroup.init({
  timeoutMs: 20_000,
  chunkBytes: Number(process.env.CHUNK_BYTES) || undefined,
});
const N = pg.worldSize;
const sizes = (process.env.SIZES ?? '1,2,3,5,7,1000,65537,262145,1000003').split(',').map(Number);

async function checkSameEverywhere(buf: Float32Array | Float64Array, what: string): Promise<void> {
  const hashes = new Float64Array(N);
  hashes[pg.rank] = digest(buf);
  await pg.allGather(hashes);
  assert.ok(
    hashes.every((h) => h === hashes[0]),
    `${what}: ranks disagree bit-wise: ${[...hashes].join(',')}`,
  );
}

for (const [k, n] of sizes.entries()) {
  // ARENA=1: buffers in their own WebAssembly memory, as DDP's gradient buckets are (in-place SIMD add).
  const mine = process.env.ARENA ? allocReduceBuffer(n) : new Float32Array(n);
  fill(mine, 1000 * pg.rank + k);
  await pg.allReduce(mine, 'sum');
  const expected = new Float64Array(n);
  const other = new Float32Array(n);
  for (let r = 0; r < N; r++) {
    fill(other, 1000 * r + k);
    for (let i = 0; i < n; i++) expected[i] = (expected[i] as number) + (other[i] as number);
  }
  for (let i = 0; i < n; i++) {
    const d = Math.abs((mine[i] as number) - (expected[i] as number));
    if (d > 1e-5) assert.fail(`allReduce n=${n}: element ${i} is ${mine[i]}, expected ${expected[i]}`);
  }
  await checkSameEverywhere(mine, `allReduce n=${n}`);
  console.log(JSON.stringify({ rank: pg.rank, check: 'allReduce', n }));
}

// max / min on float64, exact.
const m = 1001;
const vals = new Float64Array(m);
fill(vals, 7 + pg.rank);
const mx = Float64Array.from(vals);
const mn = Float64Array.from(vals);
await pg.allReduce(mx, 'max');
await pg.allReduce(mn, 'min');
const all = Array.from({ length: N }, (_, r) => {
  const b = new Float64Array(m);
  fill(b, 7 + r);
  return b;
});
for (let i = 0; i < m; i++) {
  assert.equal(mx[i], Math.max(...all.map((b) => b[i] as number)));
  assert.equal(mn[i], Math.min(...all.map((b) => b[i] as number)));
}
console.log(JSON.stringify({ rank: pg.rank, check: 'max/min' }));

// broadcast from every root.
for (let root = 0; root < N; root++) {
  const b = new Float32Array(300_001);
  if (pg.rank === root) fill(b, 99 + root);
  await pg.broadcast(b, root);
  const want = new Float32Array(b.length);
  fill(want, 99 + root);
  assert.deepEqual(b, want, `broadcast from root ${root}`);
}
console.log(JSON.stringify({ rank: pg.rank, check: 'broadcast' }));

// all-gather of 3 elements per rank and of 200k.
for (const per of [3, 200_000]) {
  const out = new Float32Array(per * N);
  fill(out.subarray(pg.rank * per, (pg.rank + 1) * per), 500 + pg.rank);
  await pg.allGather(out);
  for (let r = 0; r < N; r++) {
    const want = new Float32Array(per);
    fill(want, 500 + r);
    assert.deepEqual(out.subarray(r * per, (r + 1) * per), want, `allGather slot ${r}`);
  }
}
console.log(JSON.stringify({ rank: pg.rank, check: 'allGather' }));

// Ranks enter collectives at different times: the late one must still get the right data.
if (pg.rank === 0) await new Promise((r) => setTimeout(r, 300));
const late = new Float32Array(10).fill(pg.rank + 1);
await pg.allReduce(late);
assert.ok(late.every((v) => v === (N * (N + 1)) / 2));
await pg.barrier();
console.log(JSON.stringify({ rank: pg.rank, check: 'skewed' }));

if (!process.env.NO_DESTROY) await pg.destroy();
console.log(JSON.stringify({ rank: pg.rank, done: true }));

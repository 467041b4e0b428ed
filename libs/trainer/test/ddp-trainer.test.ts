import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { launchFixture } from './distributed-fixtures/ranks.js';

interface Final {
  globalStep: number;
  metrics: Record<string, number>;
  weights: number[][];
}

const read = (dir: string, rank: number): Final =>
  JSON.parse(readFileSync(join(dir, `final-${rank}.json`), 'utf8'));
const steps = (dir: string, rank: number): { step: number; digest: string }[] =>
  readFileSync(join(dir, `steps-${rank}.jsonl`), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

function maxDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((w, i) => {
    w.forEach((x, j) => {
      m = Math.max(m, Math.abs(x - (b[i]?.[j] ?? Number.NaN)));
    });
  });
  return Number.isNaN(m) ? Number.POSITIVE_INFINITY : m;
}

async function run(devices: number, env: Record<string, string>): Promise<string> {
  const dir = env.OUT ?? mkdtempSync(join(tmpdir(), 'kiln-ddp-'));
  const { result, lines } = await launchFixture('ddp-train.ts', devices, { ...env, OUT: dir });
  assert.equal(result.exitCode, 0, lines.join('\n'));
  return dir;
}

describe('DDP training matches one process with the combined batch', { timeout: 600_000 }, () => {
  for (const n of [2, 3]) {
    it(`${n} ranks × batch 4 end with the weights of 1 process × batch ${4 * n}, identical on all ranks every step`, async () => {
      const single = await run(1, { BATCH: String(4 * n) });
      const ddp = await run(n, { BATCH: '4' });
      const ref = read(single, 0);
      const ranks = Array.from({ length: n }, (_, r) => read(ddp, r));
      assert.equal(ranks[0]?.globalStep, ref.globalStep);
      assert.equal(ref.globalStep, (48 / (4 * n)) * 3);
      const diff = maxDiff(ranks[0]!.weights, ref.weights);
      assert.ok(diff < 1e-5, `weights differ from the single process by ${diff}`);
      // Every rank applied the same averaged gradients: weights bit-identical after every step.
      const per = Array.from({ length: n }, (_, r) => steps(ddp, r));
      assert.equal(per[0]?.length, ref.globalStep);
      for (let r = 1; r < n; r++) assert.deepEqual(per[r], per[0], `rank ${r} diverged from rank 0`);
      // syncDist: the epoch mean of each rank's own rank number, reduced across ranks.
      for (const f of ranks) assert.equal(f.metrics['train/rank'], (n - 1) / 2);
      // Only rank 0 writes checkpoints.
      assert.deepEqual(readdirSync(join(ddp, 'ckpt')), ['last.ckpt']);
    });
  }

  it('gradient accumulation over 2 micro-batches matches too', async () => {
    const single = await run(1, { BATCH: '4', ACCUM: '2', SAMPLES: '32' });
    const ddp = await run(2, { BATCH: '2', ACCUM: '2', SAMPLES: '32' });
    const diff = maxDiff(read(ddp, 0).weights, read(single, 0).weights);
    assert.ok(diff < 1e-5, `weights differ by ${diff}`);
    assert.deepEqual(steps(ddp, 1), steps(ddp, 0));
  });

  it('a DDP run stopped at a checkpoint and resumed matches an uninterrupted DDP run', async () => {
    const full = await run(2, { BATCH: '4', EVERY: '4' });
    const dir = await run(2, { BATCH: '4', EVERY: '4', MAX_STEPS: '8' });
    assert.equal(read(dir, 0).globalStep, 8);
    await run(2, { BATCH: '4', EVERY: '4', RESUME: '1', OUT: dir });
    const a = read(full, 0);
    const b = read(dir, 0);
    assert.equal(b.globalStep, a.globalStep);
    assert.deepEqual(b.weights, a.weights);
    assert.deepEqual(read(dir, 1).weights, a.weights);
  });
});

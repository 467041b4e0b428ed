import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { launchFixture } from './distributed-fixtures/ranks.js';

// Each rank checks every collective against sums it computes itself from all ranks' seeds, and that
// all ranks hold bit-identical results; a failed check exits non-zero, which fails the launch.
const runWorkers = (devices: number, env: Record<string, string> = {}) =>
  launchFixture('collectives-worker.ts', devices, env);

describe('ring collectives between real processes on loopback', { timeout: 300_000 }, () => {
  for (const n of [2, 3]) {
    it(`all-reduce (sum of many sizes, max, min), broadcast, all-gather and barrier with ${n} ranks`, async () => {
      const { result, lines } = await runWorkers(n);
      assert.equal(result.exitCode, 0, lines.join('\n'));
      for (let r = 0; r < n; r++) {
        for (const size of [1, 2, 3, 5, 7, 1000, 65537, 262145, 1000003]) {
          assert.ok(
            lines.includes(`[rank ${r}] {"rank":${r},"check":"allReduce","n":${size}}`),
            `rank ${r} n=${size}`,
          );
        }
        for (const check of ['max/min', 'broadcast', 'allGather', 'skewed']) {
          assert.ok(lines.includes(`[rank ${r}] {"rank":${r},"check":"${check}"}`), `rank ${r} ${check}`);
        }
      }
    });

    it(`all-reduce of a 100 MB buffer (not divisible by ${n}) with ${n} ranks and small chunks`, async () => {
      const { result, lines } = await runWorkers(n, {
        SIZES: '25000001',
        CHUNK_BYTES: String(256 << 10),
        ARENA: '1',
      });
      assert.equal(result.exitCode, 0, lines.join('\n'));
      for (let r = 0; r < n; r++) {
        assert.ok(lines.includes(`[rank ${r}] {"rank":${r},"check":"allReduce","n":25000001}`));
      }
    });
  }

  it('the scalar JS reduction path and in-place (arena) buffers give the same sums', async () => {
    const envs: Record<string, string>[] = [{ KILN_DDP_ADD: 'js' }, { ARENA: '1' }];
    for (const env of envs) {
      const { result, lines } = await runWorkers(2, { ...env, SIZES: '1,3,1000,262145' });
      assert.equal(result.exitCode, 0, lines.join('\n'));
      assert.ok(lines.includes('[rank 1] {"rank":1,"check":"allReduce","n":262145}'));
    }
  });

  it('a world of one is the identity', async () => {
    const { result, lines } = await runWorkers(1, { SIZES: '1,1000' });
    assert.equal(result.exitCode, 0, lines.join('\n'));
    assert.ok(lines.includes('[rank 0] {"rank":0,"done":true}'));
  });
});

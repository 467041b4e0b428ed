// DDP with compiled steps (tensorflow backend, 2 ranks): forward and backward run as one TensorFlow
// function whose outputs are the loss and the gradients, which the bucketed all-reduce averages;
// clipping and the update run eagerly, or as a second function of the averaged gradients with
// KILN_DDP_COMPILED_UPDATE=1. Compiled and eager DDP runs agree on every rank's per-step losses and
// the final weights (to 1e-5), every rank ends with the same weights, and no step falls back.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { launchFixture } from './distributed-fixtures/ranks.js';

delete process.env.KILN_FORCE_BACKEND;
const skipNative = process.env.KILN_SKIP_NATIVE === '1' ? 'KILN_SKIP_NATIVE=1' : false;

interface Result {
  globalStep: number;
  losses: number[];
  metrics: Record<string, number>;
  weights: number[][];
  compiledCalls: number;
  fallbackReason: string | null;
  warnings: string[];
}

async function run(env: Record<string, string>): Promise<Result[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-ddp-compile-'));
  const { result, lines } = await launchFixture('ddp-compile.ts', 2, { ...env, OUT: dir });
  assert.equal(result.exitCode, 0, lines.join('\n'));
  return [0, 1].map((rank) => JSON.parse(readFileSync(join(dir, `run-${rank}.json`), 'utf8')) as Result);
}

function assertSame(got: Result, want: Result, rel: number, abs: number): void {
  assert.equal(got.losses.length, want.losses.length);
  got.losses.forEach((l, i) => {
    const w = want.losses[i] as number;
    assert.ok(Math.abs(l - w) <= rel * Math.abs(w), `step ${i + 1}: loss ${l} vs eager ${w}`);
  });
  got.weights.forEach((w, i) => {
    w.forEach((x, j) => {
      const e = want.weights[i]?.[j] as number;
      assert.ok(Math.abs(x - e) <= abs, `parameter ${i}[${j}]: ${x} vs eager ${e}`);
    });
  });
}

describe('compiled DDP steps, 2 ranks (tensorflow backend)', { skip: skipNative, timeout: 600_000 }, () => {
  const cases: [string, Record<string, string>, number][] = [
    // 48 rows, 24 per rank in batches of 4: 6 batches an epoch, 18 in all. Forward + backward: batches
    // 1 and 2 traced (no optimizer inside, so the first two traces agree), 16 calls; the update after the
    // all-reduce: steps 1-3 traced (the first makes AdamW's state), 15 calls
    ['plain', {}, 16],
    ['plain, the update compiled', { KILN_DDP_COMPILED_UPDATE: '1' }, 16 + 15],
    // a dropout mask a step: drawn anew before each call, as eager draws it
    ['tf.dropout', { DROPOUT: '1' }, 16],
    // softmaxes over 32 scores, 64 rows a sample (src/compile/cpu-equivalents.ts)
    ['a softmax over 32 scores', { ATTENTION: '1' }, 16],
    // windows of 2 (every micro-step runs the same function): 18 batches, 16 calls; 9 updates, 6 calls
    ['accumulateGradBatches 2 and norm clipping', { ACCUM: '2', CLIP: '0.3' }, 16],
    [
      'accumulateGradBatches 2 and norm clipping, the update compiled',
      { ACCUM: '2', CLIP: '0.3', KILN_DDP_COMPILED_UPDATE: '1' },
      16 + 6,
    ],
  ];

  for (const [what, env, calls] of cases) {
    it(`${what}: per-step losses and final weights match eager DDP, ranks identical`, async () => {
      const eager = await run(env);
      const compiled = await run({ ...env, COMPILE: '1' });
      for (const rank of [0, 1]) {
        const c = compiled[rank] as Result;
        const e = eager[rank] as Result;
        assert.deepEqual(c.warnings, [], `rank ${rank}`);
        assert.equal(c.fallbackReason, null);
        assert.equal(c.compiledCalls, calls, `rank ${rank}: compiled calls`);
        assert.equal(c.globalStep, e.globalStep);
        assertSame(c, e, 1e-5, 1e-5);
        assert.equal(c.metrics['train/rank'], 0.5, 'syncDist still reduces across ranks');
      }
      assert.deepEqual(compiled[1]?.weights, compiled[0]?.weights, 'ranks hold the same weights');
    });
  }
});

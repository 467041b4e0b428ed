// The three models bench/vs-pytorch times train the same compiled as eager (Trainer option `compile`,
// tensorflow backend): 100 steps of Adam at the benchmark's batch sizes, per-step losses within 1e-5
// relative and final weights within 1e-5 of the eager run's, with no step falling back; the same
// under DDP on 2 ranks (ddp-rank.ts). The transformer's attention softmax is what TensorFlow's oneDNN
// pass would otherwise run through a different kernel inside the function
// (libs/trainer/src/compile/cpu-equivalents.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { launch, Trainer, tf } from '@kiln/trainer';
import { Steps, seededRandom, withCompileWarnings } from '../../libs/trainer/test/fixtures/compiled.js';
import { MODELS, type ModelName, makeLoader, makeModule } from './models.js';

delete process.env.KILN_FORCE_BACKEND;
const skipNative = process.env.KILN_SKIP_NATIVE === '1' ? 'KILN_SKIP_NATIVE=1' : false;
const STEPS = 100;

async function fit(model: ModelName, compile: boolean) {
  const random = Math.random;
  Math.random = seededRandom(1); // the same initial weights and data order in both runs
  try {
    const module = makeModule(model);
    const steps = new Steps();
    const trainer = new Trainer({
      backend: 'tensorflow',
      maxSteps: STEPS,
      compile,
      enableCheckpointing: false,
      enableProgressBar: false,
      enableModelSummary: false,
      logger: false,
      numSanityValSteps: 0,
      callbacks: [steps],
    });
    const { warnings } = await withCompileWarnings(() => trainer.fit(module, { train: makeLoader(model) }));
    const weights = module.parameters().map((v) => v.dataSync() as Float32Array);
    return { losses: steps.losses, weights, warnings };
  } finally {
    Math.random = random;
  }
}

interface Run {
  losses: number[];
  weights: ArrayLike<number>[];
  warnings: string[];
}

/** Per-step losses within 1e-5 relative, final weights within 1e-5, and the run trained. */
function assertAgree(compiled: Run, eager: Run, what: string): void {
  assert.deepEqual(compiled.warnings, [], `${what}: no compiled step falls back`);
  assert.equal(compiled.losses.length, STEPS, what);
  compiled.losses.forEach((l, i) => {
    const w = eager.losses[i] as number;
    assert.ok(Number.isFinite(l), `${what}, step ${i + 1}: loss ${l}`);
    assert.ok(Math.abs(l - w) <= 1e-5 * Math.abs(w), `${what}, step ${i + 1}: loss ${l} vs eager ${w}`);
  });
  assert.notEqual(eager.losses[STEPS - 1], eager.losses[0], `${what}: the run trained`);
  let worst = 0;
  compiled.weights.forEach((w, i) => {
    const e = eager.weights[i] as ArrayLike<number>;
    assert.equal(w.length, e.length);
    for (let j = 0; j < w.length; j++) worst = Math.max(worst, Math.abs((w[j] as number) - (e[j] as number)));
  });
  assert.ok(worst <= 1e-5, `${what}: largest weight difference ${worst} (at most 1e-5)`);
}

/** Both ranks of a 2-rank DDP run of ddp-rank.ts. */
async function ddp(model: ModelName, compile: boolean): Promise<(Run & { compiledCalls: number })[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-vs-pytorch-ddp-'));
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const result = await launch({
    script: new URL('./ddp-rank.ts', import.meta.url).pathname,
    devices: 2,
    execArgv: [],
    env: { MODEL: model, OUT: dir, ...(compile ? { COMPILE: '1' } : {}) },
    stdout: sink,
    stderr: sink,
  });
  assert.equal(result.exitCode, 0, lines.join(''));
  return [0, 1].map((r) => JSON.parse(readFileSync(join(dir, `run-${r}.json`), 'utf8')));
}

describe('bench/vs-pytorch models: compiled equals eager over 100 steps', { skip: skipNative }, () => {
  for (const model of MODELS) {
    it(model, { timeout: 300_000 }, async () => {
      const eager = await fit(model, false);
      const compiled = await fit(model, true);
      assertAgree(compiled, eager, model);
      tf.disposeVariables();
    });
  }
  for (const model of MODELS) {
    it(`${model}, DDP on 2 ranks`, { timeout: 600_000 }, async () => {
      const eager = await ddp(model, false);
      const compiled = await ddp(model, true);
      for (const r of [0, 1]) {
        assertAgree(compiled[r] as Run, eager[r] as Run, `${model}, rank ${r}`);
        // forward + backward compiled once two traces agreed
        const calls = compiled[r]?.compiledCalls ?? 0;
        assert.ok(calls >= STEPS - 3, `rank ${r}: ${calls} compiled calls`);
      }
      assert.deepEqual(compiled[1]?.weights, compiled[0]?.weights, 'ranks hold the same weights');
    });
  }
});

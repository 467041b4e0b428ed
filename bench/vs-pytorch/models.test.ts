// The three models bench/vs-pytorch times train the same compiled as eager (Trainer option `compile`,
// tensorflow backend): 100 steps of Adam at the benchmark's batch sizes, per-step losses within 1e-5
// relative and final weights within 1e-5 of the eager run's, with no step falling back. The
// transformer's attention softmax is what TensorFlow's oneDNN pass would otherwise run through a
// different kernel inside the function (src/compile/cpu-equivalents.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Callback, type Module, Trainer, tf } from '@kiln/trainer';
import { MODELS, type ModelName, makeLoader, makeModule } from './models.js';

delete process.env.KILN_FORCE_BACKEND;
const skipNative = process.env.KILN_SKIP_NATIVE === '1' ? 'KILN_SKIP_NATIVE=1' : false;
const STEPS = 100;

class Losses extends Callback {
  losses: number[] = [];
  override onTrainBatchEnd(_t: Trainer, _m: Module, out: { loss: number | null }): void {
    this.losses.push(out.loss as number);
  }
}

/** Same initial weights and data order for both runs: tfjs seeds its unseeded initializers from Math.random. */
function seededRandom(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
}

async function fit(model: ModelName, compile: boolean) {
  const random = Math.random;
  Math.random = seededRandom(1);
  const warnings: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (String(chunk).includes('compile:')) warnings.push(String(chunk));
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    const module = makeModule(model);
    const losses = new Losses();
    const trainer = new Trainer({
      backend: 'tensorflow',
      maxSteps: STEPS,
      compile,
      enableCheckpointing: false,
      enableProgressBar: false,
      enableModelSummary: false,
      logger: false,
      numSanityValSteps: 0,
      callbacks: [losses],
    });
    await trainer.fit(module, { train: makeLoader(model) });
    const weights = module.parameters().map((v) => v.dataSync() as Float32Array);
    return { losses: losses.losses, weights, warnings };
  } finally {
    Math.random = random;
    process.stderr.write = write;
  }
}

describe('bench/vs-pytorch models: compiled equals eager over 100 steps', { skip: skipNative }, () => {
  for (const model of MODELS) {
    it(model, { timeout: 300_000 }, async () => {
      const eager = await fit(model, false);
      const compiled = await fit(model, true);
      assert.deepEqual(compiled.warnings, [], 'no compiled step falls back');
      assert.equal(compiled.losses.length, STEPS);
      compiled.losses.forEach((l, i) => {
        const w = eager.losses[i] as number;
        assert.ok(Number.isFinite(l), `step ${i + 1}: loss ${l}`);
        assert.ok(Math.abs(l - w) <= 1e-5 * Math.abs(w), `step ${i + 1}: loss ${l} vs eager ${w}`);
      });
      // the runs trained: the last losses are not the first
      assert.notEqual(eager.losses[STEPS - 1], eager.losses[0]);
      let worst = 0;
      compiled.weights.forEach((w, i) => {
        const e = eager.weights[i] as Float32Array;
        assert.equal(w.length, e.length);
        for (let j = 0; j < w.length; j++)
          worst = Math.max(worst, Math.abs((w[j] as number) - (e[j] as number)));
      });
      assert.ok(worst <= 1e-5, `largest weight difference ${worst} (at most 1e-5)`);
      tf.disposeVariables();
    });
  }
});

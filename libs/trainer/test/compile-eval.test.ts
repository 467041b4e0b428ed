// Compiled evaluation steps (Trainer option `compile: { eval: true }`, tensorflow backend): validation
// inside fit, Trainer.validate and Trainer.test log the same values compiled as eagerly; a step that
// reads a value back or keeps tensors past its end falls back with one warning and eager results.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Batch,
  Callback,
  DataLoader,
  type Module,
  type Trainer,
  type TrainerOptions,
  tf,
} from '../src/index.js';
import { assertClose, Regressor, run } from './fixtures/compiled.js';
import { TinyData } from './fixtures/tiny.js';

delete process.env.KILN_FORCE_BACKEND;
const skipNative = process.env.KILN_SKIP_NATIVE === '1' ? 'KILN_SKIP_NATIVE=1' : false;

/** 32 validation rows in batches of 6: five of 6 and one of 2, so the last batch retraces. */
class ValData extends TinyData {
  override valDataloader(): DataLoader {
    return new DataLoader(this.val, { batchSize: 6 });
  }
  override testDataloader(): DataLoader {
    return new DataLoader(this.val, { batchSize: 6 });
  }
}

/** Logs two values per validation batch: the loss and a mean absolute error. */
class Evaluated extends Regressor {
  override validationStep(batch: Batch): void {
    const [x, y] = batch as tf.Tensor[];
    const pred = this.forward(x!);
    this.log('val/loss', tf.losses.meanSquaredError(y!, pred));
    this.log('val/mae', tf.mean(tf.abs(tf.sub(pred, y!))), { onStep: true });
  }
}

/** Every validation run's logged values, as the loggers see them. */
class ValLogs extends Callback {
  runs: Record<string, number>[] = [];
  override onValidationEnd(t: Trainer, _m: Module): void {
    this.runs.push({ ...t.metrics.callbackMetrics });
  }
}

const opts: TrainerOptions = { maxEpochs: 4, limitValBatches: 1, numSanityValSteps: 2 };

async function fit(module: Module, compile: TrainerOptions['compile']) {
  const logs = new ValLogs();
  const r = await run(module, new ValData({ n: 32 }), { ...opts, compile, callbacks: [logs] });
  return { ...r, logs: logs.runs };
}

function assertSameLogs(got: Record<string, number>[], want: Record<string, number>[], rel: number): void {
  assert.equal(got.length, want.length);
  got.forEach((run, i) => {
    assert.deepEqual(Object.keys(run).sort(), Object.keys(want[i]!).sort());
    for (const [k, v] of Object.entries(run)) {
      const w = want[i]![k]!;
      assert.ok(Math.abs(v - w) <= rel * Math.abs(w), `validation ${i}: ${k} ${v} vs eager ${w}`);
    }
  });
}

describe('compiled evaluation steps (tensorflow backend)', { skip: skipNative }, () => {
  it('validation in fit, Trainer.validate and Trainer.test log what eager evaluation logs', async () => {
    const eager = await fit(new Evaluated('adamw'), true);
    const module = new Evaluated('adamw');
    const compiled = await fit(module, { eval: true });
    assert.deepEqual(compiled.warnings, []);
    const val = compiled.trainer.evaluationLoop.compiledStep(module, 'validate');
    assert.equal(val?.fallbackReason, null);
    // sanity check (2 batches) + 4 runs of 6: [6] traced twice, [2] traced in runs 1 and 2
    assert.equal(val?.traces, 4);
    assert.equal(val?.compiledCalls, 22);
    // the sanity check, then one validation per epoch; values per epoch and the last batch's (onStep)
    assert.equal(eager.logs.length, 5);
    assert.ok('val/mae_step' in (eager.logs[0] as object));
    assertSameLogs(compiled.logs, eager.logs, 1e-6);
    assertClose(compiled, eager, 1e-6, 0);
    for (const stage of ['validate', 'test'] as const) {
      const call = (t: Trainer, m: Module) =>
        stage === 'validate' ? t.validate(m, new ValData({ n: 32 })) : t.test(m, new ValData({ n: 32 }));
      // twice: the test step is traced by the first call, compiled in the second
      const want = [
        await call(eager.trainer, eager.trainer.module!),
        await call(eager.trainer, eager.trainer.module!),
      ];
      const got = [await call(compiled.trainer, module), await call(compiled.trainer, module)];
      assertSameLogs(got, want, 1e-6);
    }
    assert.ok((compiled.trainer.evaluationLoop.compiledStep(module, 'test')?.compiledCalls ?? 0) > 0);
  });

  it('a validation step that reads a value back or keeps tensors runs eagerly after one warning', async () => {
    let kept: tf.Tensor[] = [];
    class ReadsBack extends Evaluated {
      override validationStep(batch: Batch): void {
        super.validationStep(batch);
        this.log('val/count', (batch as tf.Tensor[])[0]!.sum().dataSync()[0]! > 0 ? 1 : 0);
      }
    }
    class Keeps extends Evaluated {
      override validationStep(batch: Batch): void {
        super.validationStep(batch);
        // predictions collected for an epoch-end metric: a compiled call would never make them
        kept.push(tf.keep(this.forward((batch as tf.Tensor[])[0]!)));
      }
    }
    for (const [make, why] of [
      [() => new ReadsBack('sgd'), /the step reads 1 tensor\(s\) back/],
      [() => new Keeps('sgd'), /the step keeps 1 tensor\(s\) past its end/],
    ] as const) {
      const eager = await fit(make(), true);
      const eagerKept = kept.length;
      tf.dispose(kept);
      kept = [];
      const compiled = await fit(make(), { eval: true });
      assert.equal(compiled.warnings.length, 1, compiled.warnings.join(''));
      assert.match(compiled.warnings[0] as string, /^kiln: compile: running the validation step eagerly: /);
      assert.match(compiled.warnings[0] as string, why);
      assertSameLogs(compiled.logs, eager.logs, 0);
      assert.equal(kept.length, eagerKept);
      tf.dispose(kept);
      kept = [];
    }
  });
});

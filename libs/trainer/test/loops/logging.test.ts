// What `log` records and where it arrives, ported from Lightning's tests/tests_pytorch/trainer/logging_/
// (test_train_loop_logging.py, test_eval_loop_logging.py); each case names its source.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import {
  type Batch,
  EarlyStopping,
  type Logger,
  ModelCheckpoint,
  type RunStatus,
  type StepOutput,
  Trainer,
  tf,
  unseed,
} from '../../src/index.js';
import { quiet, TinyData, TinyRegressor, tmp } from '../fixtures/tiny.js';

afterEach(() => unseed());

class RecordingLogger implements Logger {
  readonly name = 'recording';
  records: { m: Record<string, number>; step: number }[] = [];
  logMetrics(m: Record<string, number>, step: number): void {
    this.records.push({ m, step });
  }
  logHyperparams(): void {}
  async finalize(_s: RunStatus): Promise<void> {}
  /** every key any record carried */
  keys(): Set<string> {
    return new Set(this.records.flatMap((r) => Object.keys(r.m)).filter((k) => k !== 'epoch'));
  }
}

// Behaviour 6: test_train_loop_logging.py::test__training_step__log — a value logged with onStep and
// onEpoch reaches loggers as <key>_step / <key>_epoch, and callbackMetrics holds <key>, <key>_step and
// <key>_epoch, so a monitor can name either form.
test('callbackMetrics carries <key>_step and <key>_epoch (test__training_step__log)', async () => {
  class Logs extends TinyRegressor {
    override trainingStep(batch: Batch): StepOutput {
      const loss = this.trainLoss(batch); // train/loss with onStep and onEpoch
      this.log('l_s', loss, { onStep: true, onEpoch: false });
      this.log('l_e', loss, { onStep: false, onEpoch: true });
      return loss;
    }
  }
  const lg = new RecordingLogger();
  const mc = new ModelCheckpoint({ dirpath: tmp('ck'), monitor: 'train/loss_epoch', saveLast: false });
  const trainer = new Trainer(
    quiet(tmp('log-step-epoch'), {
      maxEpochs: 2,
      limitTrainBatches: 2,
      logEveryNSteps: 1,
      numSanityValSteps: 0,
      logger: lg,
      callbacks: [mc],
    }),
  );
  await trainer.fit(new Logs(), new TinyData());
  assert.deepEqual(lg.keys(), new Set(['train/loss_step', 'train/loss_epoch', 'l_s', 'l_e', 'val/loss']));
  for (const k of ['train/loss', 'train/loss_step', 'train/loss_epoch', 'l_s', 'l_e', 'val/loss'])
    assert.ok(k in trainer.callbackMetrics, `${k} in callbackMetrics`);
  assert.equal(trainer.callbackMetrics['train/loss'], trainer.callbackMetrics['train/loss_epoch']);
  assert.equal(
    mc.bestModelScore !== null && Number.isFinite(mc.bestModelScore),
    true,
    'monitored _epoch key',
  );
});

// Behaviour 1: test_eval_loop_logging.py::test__validation_step__epoch_end__log — on_validation_epoch_end
// can log: the value is in callbackMetrics, reaches loggers, and an EarlyStopping on it works; likewise
// onTestEpochEnd's values are in what test() returns.
test('log() in onValidationEpochEnd / onTestEpochEnd counts (test__validation_step__epoch_end__log)', async () => {
  class EpochEnd extends TinyRegressor {
    override onValidationEpochEnd(): void {
      this.log('g', 2);
    }
    override onTestEpochEnd(): void {
      this.log('t_end', 3);
    }
  }
  const lg = new RecordingLogger();
  const es = new EarlyStopping({ monitor: 'g', patience: 1 });
  const trainer = new Trainer(
    quiet(tmp('log-val-end'), {
      maxEpochs: 5,
      limitTrainBatches: 2,
      enableCheckpointing: false,
      logger: lg,
      callbacks: [es],
    }),
  );
  const m = new EpochEnd();
  await trainer.fit(m, new TinyData());
  assert.equal(trainer.callbackMetrics.g, 2);
  assert.ok(lg.keys().has('g'), 'g reached the logger');
  assert.equal(trainer.status, 'stopped', 'EarlyStopping saw g (constant: no improvement after epoch 0)');
  assert.equal(trainer.currentEpoch, 2);
  const out = await trainer.test(m, new TinyData());
  assert.equal(out.t_end, 3);
  assert.ok(Number.isFinite(out['test/loss']));
});

// Behaviour 7: test_train_loop_logging.py::test__training_step__epoch_end__log — on_train_epoch_end can
// log; the values reach the loggers in every epoch (the last one included) at that epoch's last step.
test('log() in onTrainEpochEnd reaches loggers every epoch at its step (test__training_step__epoch_end__log)', async () => {
  class TrainEnd extends TinyRegressor {
    override onTrainEpochEnd(): void {
      this.log('b1', tf.scalar(1));
      this.log('b', 2, { progBar: true });
    }
  }
  const lg = new RecordingLogger();
  const mc = new ModelCheckpoint({ dirpath: tmp('ck-b'), monitor: 'b1', saveLast: false });
  const trainer = new Trainer(
    quiet(tmp('log-train-end'), {
      maxEpochs: 2,
      limitTrainBatches: 2,
      numSanityValSteps: 0,
      logger: lg,
      callbacks: [mc],
    }),
  );
  await trainer.fit(new TrainEnd(), new TinyData());
  const withB = lg.records.filter((r) => 'b' in r.m);
  assert.deepEqual(
    withB.map((r) => [r.step, r.m.epoch, r.m.b, r.m.b1]),
    [
      [2, 0, 2, 1],
      [4, 1, 2, 1],
    ],
  );
  assert.equal(
    mc.bestModelScore,
    1,
    'a monitoring callback sees the value the module logged in the same hook',
  );
  assert.equal(trainer.metrics.progressBarMetrics.b, 2);
});

// The step's loss stays on the device: onTrainBatchEnd's outputs.loss reads it back when a hook reads it
// (the value logged as train/loss_step, times accumulateGradBatches), never when none does, and it is
// freed after the batch: the run leaves no tensor behind, and outputs read after the hook say so.
test('outputs.loss is read back only when a hook reads it, the same value, freed after the batch', async () => {
  const seen: { loss: number; logged: number }[] = [];
  const kept: { loss: number | null }[] = [];
  class Reads extends TinyRegressor {
    override onTrainBatchEnd(outputs: { loss: number | null }, batchIdx: number): void {
      if (batchIdx % 2 === 0) {
        const t = this.trainer;
        seen.push({ loss: outputs.loss as number, logged: t.callbackMetrics['train/loss_step'] as number });
      }
      kept.push(outputs);
    }
  }
  const reads = { n: 0 };
  const dataSync = tf.Tensor.prototype.dataSync;
  const data = new TinyData();
  const module = new Reads();
  const before = tf.memory().numTensors;
  tf.Tensor.prototype.dataSync = function (this: tf.Tensor) {
    if (this.rank === 0) reads.n++;
    return dataSync.call(this) as never;
  } as typeof dataSync;
  try {
    const trainer = new Trainer(
      quiet(tmp('lazy-loss'), {
        maxEpochs: 1,
        limitTrainBatches: 6,
        numSanityValSteps: 0,
        limitValBatches: 0,
      }),
    );
    await trainer.fit(module, data);
  } finally {
    tf.Tensor.prototype.dataSync = dataSync;
  }
  assert.equal(seen.length, 3);
  for (const s of seen) assert.equal(s.loss, s.logged);
  // train/loss (logged each step, read by log) and the 3 losses the hook read: 6 + 3
  assert.equal(reads.n, 9);
  assert.equal(kept[0]?.loss, seen[0]?.loss, 'a value read inside the hook stays readable');
  assert.throws(() => kept[1]?.loss, /read after onTrainBatchEnd returned/);
  module.net.dispose();
  module.bias.dispose();
  for (const o of [module.optimizers()].flat()) o.dispose();
  assert.ok(tf.memory().numTensors <= before, `${tf.memory().numTensors} tensors left, ${before} before`);
});

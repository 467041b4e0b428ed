// Loop flags, stopping and continuing, ported from Lightning's tests/tests_pytorch/trainer/ (flags/,
// test_trainer.py), callbacks/test_early_stopping.py and models/test_restore.py. Each case names its source.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import {
  type Batch,
  EarlyStopping,
  ModelCheckpoint,
  readCheckpointFile,
  Trainer,
  type TrainerOptions,
  unseed,
} from '../../src/index.js';
import { quiet, TinyData, TinyRegressor, tmp } from '../fixtures/tiny.js';

afterEach(() => unseed());

/** Counts validation batches (sanity ones apart) and the global step each real one ran at. */
class Counting extends TinyRegressor {
  sanityBatches = 0;
  valSteps: number[] = [];
  valEpochHooks = 0;
  override validationStep(batch: Batch): void {
    if (this.trainer.sanityChecking) this.sanityBatches++;
    else this.valSteps.push(this.trainer.globalStep);
    super.validationStep(batch);
  }
  override onValidationEpochStart(): void {
    this.valEpochHooks++;
  }
}

const run = async (opts: TrainerOptions, model = new Counting()) => {
  const trainer = new Trainer(quiet(tmp('flags'), { enableCheckpointing: false, logger: false, ...opts }));
  await trainer.fit(model, new TinyData());
  return { trainer, model };
};

// Behaviour 5: test_trainer.py::test_disabled_validation — limit_val_batches=0 runs no validation at all.
test('limitValBatches: 0 disables validation: no sanity check, no validation hooks (test_disabled_validation)', async () => {
  const { model } = await run({ maxEpochs: 2, limitValBatches: 0 });
  assert.equal(model.sanityBatches, 0);
  assert.deepEqual(model.valSteps, []);
  assert.equal(model.valEpochHooks, 0);
});

// Behaviour 5: test_trainer.py::test_num_sanity_val_steps — the sanity check takes
// min(num_sanity_val_steps, limit_val_batches) batches; -1 takes them all (test_num_sanity_val_steps_neg_one).
test('numSanityValSteps is capped by limitValBatches; -1 means all of them (test_num_sanity_val_steps)', async () => {
  const capped = await run({
    maxEpochs: 1,
    limitTrainBatches: 1,
    numSanityValSteps: 5,
    limitValBatches: 0.5,
  });
  assert.equal(capped.model.sanityBatches, 1);
  const all = await run({ maxEpochs: 1, limitTrainBatches: 1, numSanityValSteps: -1 });
  assert.equal(all.model.sanityBatches, 2, 'the 2 batches of the validation set');
});

// Behaviour 5: test_trainer.py::test_trainer_max_steps_and_epochs — maxSteps inside an epoch ends the run
// as finished (not stopped); no validation runs at that step (it is no early stop).
test('maxSteps reached mid-epoch ends as finished with no extra validation (test_trainer_max_steps_and_epochs)', async () => {
  const { trainer, model } = await run({ maxEpochs: 3, maxSteps: 11 });
  assert.equal(trainer.status, 'finished');
  assert.equal(trainer.globalStep, 11);
  assert.deepEqual(model.valSteps, [8, 8], 'only the validation at the end of epoch 0 (2 batches)');
  const byEpochs = await run({ maxEpochs: 2, maxSteps: 100 });
  assert.equal(byEpochs.trainer.status, 'finished');
  assert.equal(byEpochs.trainer.globalStep, 16);
  assert.equal(byEpochs.trainer.currentEpoch, 2);
});

// Behaviour 5: flags/test_val_check_interval.py::test_validation_check_interval_exceed_data_length_wrong.
test('an integer valCheckInterval larger than the epoch is an error naming both numbers', async () => {
  await assert.rejects(
    run({ maxEpochs: 1, valCheckInterval: 100 }),
    /valCheckInterval \(100\) must be less than or equal to the number of the training batches \(8\)/,
  );
});

// Behaviour 5: flags/test_val_check_interval.py::test_validation_check_interval_exceed_data_length_correct —
// with check_val_every_n_epoch=None validation follows the total batch count across epochs; and
// test_val_check_interval_float_with_none_check_val_every_n_epoch — a fraction is then an error.
test('checkValEveryNEpoch: null validates every valCheckInterval batches across epochs', async () => {
  // 8 batches an epoch, validation every 3 batches in total: at steps 3, 6, 9, 12, 15, 18, 21, 24
  const { model } = await run({
    maxEpochs: 3,
    valCheckInterval: 3,
    checkValEveryNEpoch: null,
    limitValBatches: 0.5,
  });
  assert.deepEqual(model.valSteps, [3, 6, 9, 12, 15, 18, 21, 24]);
  assert.throws(
    () => new Trainer({ valCheckInterval: 0.5, checkValEveryNEpoch: null }),
    /"valCheckInterval" must be a batch count when "checkValEveryNEpoch" is null/,
  );
});

// Behaviour 5: flags/test_fast_dev_run.py::test_callbacks_and_logger_not_called_with_fastdevrun — a
// fastDevRun validates once after its batches whatever valCheckInterval says, and EarlyStopping and
// checkpointing stay off.
test('fastDevRun resets valCheckInterval and disables EarlyStopping and checkpoints (test_fast_dev_run.py)', async () => {
  const es = new EarlyStopping({ monitor: 'val/loss', patience: 0 });
  const ckDir = tmp('dev-ck');
  const { trainer, model } = await run({
    fastDevRun: 2,
    valCheckInterval: 0.5,
    enableCheckpointing: true,
    callbacks: [es, new ModelCheckpoint({ dirpath: ckDir })],
  });
  assert.equal(trainer.globalStep, 2);
  assert.deepEqual(model.valSteps, [2, 2], 'one validation of 2 batches, after the last batch');
  assert.equal(es.wait, 0, 'EarlyStopping never evaluated');
  assert.equal(trainer.status, 'finished');
  assert.deepEqual(readdirSync(ckDir), []);
});

// Behaviour 5: trainer/connectors/test_data_connector.py (`limit_batches * length < 1. Please increase`).
test('a fractional limit that selects less than one batch is an error naming the option', async () => {
  await assert.rejects(
    run({ maxEpochs: 1, limitTrainBatches: 0.1 }),
    /limitTrainBatches: 0\.1 of 8 batches is less than one batch/,
  );
  await assert.rejects(
    run({ maxEpochs: 1, limitValBatches: 0.1 }),
    /limitValBatches: 0\.1 of 2 batches is less than one batch/,
  );
});

// Behaviour 12: callbacks/test_early_stopping.py::test_min_epochs_min_steps_global_step — an early stop
// waits for minSteps and minEpochs, then stops at the step where they are met, not an epoch later.
test('minSteps/minEpochs with an early stop stop where they are met (test_min_epochs_min_steps_global_step)', async () => {
  class AlwaysStop extends EarlyStopping {
    calls = 0;
    override evaluate(): string {
      this.calls++;
      return 'stop';
    }
  }
  // (limit_train_batches, min_epochs, min_steps, stop_step) from the Lightning parametrization
  const cases: [number, number, number, number][] = [
    [3, 0, 10, 10],
    [5, 0, 10, 10],
    [3, 2, 0, 6],
    [5, 2, 0, 10],
    [3, 1, 10, 10],
    [5, 3, 10, 15],
  ];
  for (const [limit, minEpochs, minSteps, stopStep] of cases) {
    const es = new AlwaysStop({ monitor: 'train/loss' });
    const { trainer } = await run({
      maxEpochs: 1000,
      limitTrainBatches: limit,
      limitValBatches: 0,
      minEpochs,
      minSteps,
      callbacks: [es],
    });
    const expectedEpochs = Math.max(Math.ceil(minSteps / limit), minEpochs);
    assert.ok(trainer.shouldStop, `case ${limit},${minEpochs},${minSteps}`);
    assert.equal(
      trainer.currentEpoch,
      Math.max(expectedEpochs, 1),
      `epochs for ${limit},${minEpochs},${minSteps}`,
    );
    assert.equal(trainer.globalStep, stopStep, `stop step for ${limit},${minEpochs},${minSteps}`);
  }
});

// Behaviour 10: models/test_restore.py::test_fit_twice — a second fit on the same Trainer goes on from
// where the first ended.
test('a second fit continues from where the first ended (test_restore.py::test_fit_twice)', async () => {
  const epochs: number[] = [];
  class Recording extends TinyRegressor {
    override onTrainEpochEnd(): void {
      epochs.push(this.trainer.currentEpoch);
    }
  }
  const trainer = new Trainer(
    quiet(tmp('twice'), {
      maxEpochs: 2,
      limitTrainBatches: 2,
      enableCheckpointing: false,
      logger: false,
    }),
  );
  await trainer.fit(new Recording(), new TinyData());
  trainer.config.maxEpochs = 4;
  await trainer.fit(new Recording(), new TinyData());
  assert.deepEqual(epochs, [0, 1, 2, 3]);
  assert.equal(trainer.globalStep, 8);
});

// Behaviour 8: Lightning resumes mid-epoch from its batch progress (loops/test_loops.py
// test_loop_state_on_complete_run / fit_loop restarting): a run stopped by maxSteps and resumed continues
// the same epoch at the next batch, so every sample of that epoch is still trained on once.
test('resuming after a maxSteps stop continues the same epoch at the next batch', async () => {
  const seen: number[][] = [];
  class Rec extends TinyRegressor {
    override trainingStep(batch: Batch, i = -1) {
      seen.push([this.trainer.currentEpoch, i]);
      return this.trainLoss(batch);
    }
  }
  const root = tmp('maxsteps-resume');
  const dir = join(root, 'ck');
  const first = new Trainer(
    quiet(root, { maxSteps: 11, logger: false, callbacks: [new ModelCheckpoint({ dirpath: dir })] }),
  );
  await first.fit(new Rec(), new TinyData());
  const last = await readCheckpointFile(join(dir, 'last.ckpt'));
  assert.deepEqual([last.loop.epoch, last.loop.batchPosition, last.loop.epochFinished], [1, 3, false]);
  seen.length = 0;
  const second = new Trainer(
    quiet(root, { maxSteps: 16, logger: false, callbacks: [new ModelCheckpoint({ dirpath: dir })] }),
  );
  await second.fit(new Rec(), new TinyData(), { ckptPath: 'last' });
  assert.deepEqual(
    seen,
    [3, 4, 5, 6, 7].map((i) => [1, i]),
  );
  assert.equal(second.globalStep, 16);
  // the same on one Trainer: a second fit with a higher maxSteps goes on at the next batch too
  seen.length = 0;
  const same = new Trainer(
    quiet(tmp('maxsteps-same'), { maxSteps: 11, logger: false, enableCheckpointing: false }),
  );
  await same.fit(new Rec(), new TinyData());
  same.config.maxSteps = 13;
  seen.length = 0;
  await same.fit(new Rec(), new TinyData());
  assert.deepEqual(seen, [
    [1, 3],
    [1, 4],
  ]);
});

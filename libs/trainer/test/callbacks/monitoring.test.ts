// When ModelCheckpoint and EarlyStopping act, ported from Lightning's tests/tests_pytorch/checkpointing/
// (test_checkpoint_callback_frequency.py, test_model_checkpoint.py) and callbacks/test_early_stopping.py.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import {
  type Batch,
  Callback,
  EarlyStopping,
  ModelCheckpoint,
  Trainer,
  type TrainerOptions,
  unseed,
} from '../../src/index.js';
import { quiet, TinyData, TinyRegressor, tmp } from '../fixtures/tiny.js';

afterEach(() => unseed());

class SaveCounter extends Callback {
  saves = 0;
  override onSaveCheckpoint(): void {
    this.saves++;
  }
}

const fit = async (opts: TrainerOptions) => {
  const trainer = new Trainer(quiet(tmp('mon'), { logger: false, ...opts }));
  await trainer.fit(new TinyRegressor(), new TinyData());
  return trainer;
};

// Behaviour 2: test_checkpoint_callback_frequency.py::test_default_checkpoint_freq — with validation more
// than once an epoch, the default ModelCheckpoint saves after every validation run.
test('ModelCheckpoint saves after every validation run (test_default_checkpoint_freq)', async () => {
  for (const [epochs, interval, expected] of [
    [1, 1, 1],
    [2, 1, 2],
    [1, 0.25, 4],
    [2, 0.5, 4],
  ] as const) {
    const counter = new SaveCounter();
    await fit({ maxEpochs: epochs, valCheckInterval: interval, limitValBatches: 0.5, callbacks: [counter] });
    assert.equal(counter.saves, expected, `maxEpochs ${epochs}, valCheckInterval ${interval}`);
  }
});

// Behaviour 2: test_checkpoint_callback_frequency.py::test_top_k — top-k by a validation metric ranks
// every validation run of the epoch, not only the last.
test('ModelCheckpoint monitoring a validation metric ranks every validation run (test_top_k)', async () => {
  let run = 0;
  class PerRun extends TinyRegressor {
    override validationStep(batch: Batch): void {
      super.validationStep(batch);
      this.log('score', [5, 1, 4, 2][run % 4]!);
    }
    override onValidationEnd(): void {
      if (!this.trainer.sanityChecking) run++;
    }
  }
  const dir = join(tmp('topk'), 'ck');
  const mc = new ModelCheckpoint({
    dirpath: dir,
    monitor: 'score',
    saveTopK: 2,
    filename: '{step}',
    saveLast: false,
  });
  const trainer = new Trainer(
    quiet(tmp('topk'), {
      maxEpochs: 1,
      valCheckInterval: 0.25,
      numSanityValSteps: 0,
      logger: false,
      callbacks: [mc],
    }),
  );
  await trainer.fit(new PerRun(), new TinyData());
  assert.deepEqual(readdirSync(dir).sort(), ['step=4.ckpt', 'step=8.ckpt']);
  assert.equal(mc.bestModelScore, 1);
});

// Behaviour 2: test_early_stopping.py::test_check_on_train_epoch_end_smart_handling — EarlyStopping on a
// validation metric checks after every validation run when validation runs more than once an epoch, and
// only after epochs that validated with checkValEveryNEpoch (where Kiln used to throw at epoch 0).
test('EarlyStopping checks after each validation run (test_check_on_train_epoch_end_smart_handling)', async () => {
  class Scripted extends EarlyStopping {
    calls = 0;
    override evaluate(): string | null {
      this.calls++;
      return this.calls >= 2 ? 'B' : null;
    }
  }
  const byInterval = new Scripted({ monitor: 'val/loss' });
  const a = await fit({
    maxEpochs: 10,
    valCheckInterval: 0.25,
    enableCheckpointing: false,
    callbacks: [byInterval],
  });
  assert.equal(byInterval.calls, 2);
  assert.equal(a.globalStep, 2 * 2, 'stopped at the second validation, 2 batches apart');
  const byEpochs = new Scripted({ monitor: 'val/loss' });
  const b = await fit({
    maxEpochs: 5,
    checkValEveryNEpoch: 2,
    enableCheckpointing: false,
    callbacks: [byEpochs],
  });
  assert.equal(byEpochs.calls, 2);
  assert.equal(b.currentEpoch, 2 * 2);
});

// Behaviour 2: ModelCheckpoint with checkValEveryNEpoch saves after the epochs that validated
// (test_model_checkpoint.py::test_model_checkpoint_every_n_epochs with check_val_every_n_epoch).
test('ModelCheckpoint with checkValEveryNEpoch: 2 saves after validating epochs only, without throwing', async () => {
  const dir = join(tmp('every2'), 'ck');
  await fit({
    maxEpochs: 4,
    checkValEveryNEpoch: 2,
    callbacks: [
      new ModelCheckpoint({ dirpath: dir, monitor: 'val/loss', saveTopK: -1, filename: '{epoch}' }),
    ],
  });
  assert.deepEqual(readdirSync(dir).sort(), ['epoch=1.ckpt', 'epoch=3.ckpt', 'last.ckpt']);
});

// Behaviour 9: test_model_checkpoint.py::test_model_checkpoint_topk_all — `epoch` (and `step`) can be
// monitored.
test('ModelCheckpoint may monitor epoch and step (test_model_checkpoint_topk_all)', async () => {
  const dir = join(tmp('epoch-mon'), 'ck');
  const mc = new ModelCheckpoint({
    dirpath: dir,
    filename: '{epoch}',
    monitor: 'epoch',
    mode: 'max',
    saveTopK: -1,
    saveLast: false,
  });
  await fit({ maxEpochs: 3, callbacks: [mc] });
  assert.equal(mc.bestModelPath, join(dir, 'epoch=2.ckpt'));
  assert.equal(mc.bestModelScore, 2);
  assert.deepEqual(readdirSync(dir).sort(), ['epoch=0.ckpt', 'epoch=1.ckpt', 'epoch=2.ckpt']);
  const stepDir = join(tmp('step-mon'), 'ck');
  const byStep = new ModelCheckpoint({
    dirpath: stepDir,
    monitor: 'step',
    mode: 'max',
    saveTopK: 1,
    saveLast: false,
  });
  await fit({ maxEpochs: 2, callbacks: [byStep] });
  assert.equal(byStep.bestModelScore, 16);
});

test('saveOnTrainEpochEnd and checkOnTrainEpochEnd take booleans only, named in the error', () => {
  assert.throws(
    () => new ModelCheckpoint({ saveOnTrainEpochEnd: 'yes' as unknown as boolean }),
    /ModelCheckpoint saveOnTrainEpochEnd must be a boolean, got "yes"/,
  );
  assert.throws(
    () => new EarlyStopping({ monitor: 'm', checkOnTrainEpochEnd: 1 as unknown as boolean }),
    /EarlyStopping checkOnTrainEpochEnd must be a boolean, got 1/,
  );
});

// save_on_train_epoch_end given explicitly wins over the derived default.
test('an explicit saveOnTrainEpochEnd: false saves after validation even at valCheckInterval 1', async () => {
  const savesAtEpochEnd = async (saveOnTrainEpochEnd: boolean | undefined) => {
    const counter = new SaveCounter();
    let seen = -1;
    class AtEpochEnd extends Callback {
      override onTrainEpochEnd(): void {
        seen = counter.saves; // runs before ModelCheckpoint's onTrainEpochEnd (a monitoring callback)
      }
    }
    await fit({
      maxEpochs: 1,
      callbacks: [counter, new AtEpochEnd(), new ModelCheckpoint({ saveOnTrainEpochEnd })],
    });
    assert.equal(counter.saves, 1);
    return seen;
  };
  assert.equal(await savesAtEpochEnd(false), 1, 'saved at validation end, before the epoch-end hooks');
  assert.equal(await savesAtEpochEnd(undefined), 0, 'default here: saved at train epoch end');
});

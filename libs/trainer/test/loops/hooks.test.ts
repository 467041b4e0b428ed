// Hook order and evaluation modes, ported from Lightning's tests/tests_pytorch/models/test_hooks.py.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import {
  type Batch,
  Callback,
  type CheckpointState,
  type ConfigureOptimizersResult,
  getLearningRate,
  type Module,
  StepLR,
  type StepOutput,
  Trainer,
  tf,
  unseed,
} from '../../src/index.js';
import { quiet, TinyData, TinyRegressor, tmp } from '../fixtures/tiny.js';

afterEach(() => unseed());

/** Records every callback hook as `Callback.<name>` (Lightning's HookedCallback). */
class HookedCallback extends Callback {
  constructor(readonly called: string[]) {
    super();
    const hooks = [
      'setup',
      'teardown',
      'onFitStart',
      'onFitEnd',
      'onSanityCheckStart',
      'onSanityCheckEnd',
      'onTrainStart',
      'onTrainEnd',
      'onTrainEpochStart',
      'onTrainEpochEnd',
      'onTrainBatchStart',
      'onTrainBatchEnd',
      'onValidationStart',
      'onValidationEnd',
      'onValidationEpochStart',
      'onValidationEpochEnd',
      'onValidationBatchEnd',
      'onBeforeOptimizerStep',
      'onSaveCheckpoint',
      'onLoadCheckpoint',
      'onPredictStart',
      'onPredictEnd',
    ] as const;
    for (const h of hooks) {
      (this as unknown as Record<string, unknown>)[h] = (_t: Trainer, _m: Module, ...rest: unknown[]) => {
        const idx = h.endsWith('BatchStart') ? rest[1] : h.endsWith('BatchEnd') ? rest.at(-1) : undefined;
        called.push(`Callback.${h}${idx === undefined ? '' : ` ${idx}`}`);
      };
    }
  }
  override stateDict(): undefined {
    this.called.push('Callback.stateDict');
    return undefined;
  }
}

/** Records every module hook by name (Lightning's HookedModel). */
class HookedModel extends TinyRegressor {
  constructor(readonly called: string[]) {
    super({ lr: 1 });
    const hooks = [
      'onFitStart',
      'onFitEnd',
      'onTrainStart',
      'onTrainEnd',
      'onTrainEpochStart',
      'onTrainEpochEnd',
      'onValidationStart',
      'onValidationEnd',
      'onValidationEpochStart',
      'onValidationEpochEnd',
      'onBeforeOptimizerStep',
      'onSaveCheckpoint',
      'onPredictStart',
      'onPredictEnd',
    ] as const;
    for (const h of hooks) (this as unknown as Record<string, unknown>)[h] = () => called.push(h);
  }
  override onTrainBatchStart(_b: Batch, i: number): undefined {
    this.called.push(`onTrainBatchStart ${i}`);
    return undefined;
  }
  override onTrainBatchEnd(_o: unknown, i: number): void {
    this.called.push(`onTrainBatchEnd ${i}`);
  }
  override trainingStep(batch: Batch, i = -1): StepOutput {
    this.called.push(`trainingStep ${i}`);
    return this.trainLoss(batch);
  }
  override validationStep(batch: Batch, i = -1): void {
    this.called.push(`validationStep ${i}`);
    super.validationStep(batch);
  }
  override configureOptimizers(): ConfigureOptimizersResult {
    this.called.push('configureOptimizers');
    const opt = tf.train.sgd(1);
    const called = this.called;
    class Recorded extends StepLR {
      override step(): void {
        called.push('lrSchedulerStep');
        super.step();
      }
    }
    return { optimizer: opt, lrScheduler: new Recorded(opt, { stepSize: 1, gamma: 0.5 }) };
  }
}

const valEpoch = (batches: number) => [
  'Callback.onValidationStart',
  'onValidationStart',
  'Callback.onValidationEpochStart',
  'onValidationEpochStart',
  ...Array.from({ length: batches }, (_, i) => [
    `validationStep ${i}`,
    `Callback.onValidationBatchEnd ${i}`,
  ]).flat(),
  'Callback.onValidationEpochEnd',
  'onValidationEpochEnd',
  'Callback.onValidationEnd',
  'onValidationEnd',
];

// test_hooks.py::test_trainer_model_hook_system_fit: callbacks before the module, the sanity check with the
// full validation hooks (behaviour 4), the epoch LR scheduler stepping after the last batch and before the
// epoch's validation, ModelCheckpoint (a monitoring callback) saving after the module's onTrainEpochEnd (11).
test('fit calls hooks in Lightning order (test_hooks.py::test_trainer_model_hook_system_fit)', async () => {
  const called: string[] = [];
  const model = new HookedModel(called);
  const trainer = new Trainer(
    quiet(tmp('hooks'), {
      maxEpochs: 1,
      limitTrainBatches: 2,
      limitValBatches: 2,
      callbacks: [new HookedCallback(called)],
      logger: false,
    }),
  );
  await trainer.fit(model, new TinyData());
  const batch = (i: number, last: boolean) => [
    `Callback.onTrainBatchStart ${i}`,
    `onTrainBatchStart ${i}`,
    `trainingStep ${i}`,
    'Callback.onBeforeOptimizerStep',
    'onBeforeOptimizerStep',
    ...(last ? ['lrSchedulerStep'] : []),
    `Callback.onTrainBatchEnd ${i}`,
    `onTrainBatchEnd ${i}`,
  ];
  assert.deepEqual(called, [
    'Callback.setup',
    'configureOptimizers',
    'Callback.onFitStart',
    'onFitStart',
    'Callback.onSanityCheckStart',
    ...valEpoch(2),
    'Callback.onSanityCheckEnd',
    'Callback.onTrainStart',
    'onTrainStart',
    'Callback.onTrainEpochStart',
    'onTrainEpochStart',
    ...batch(0, false),
    ...batch(1, true),
    ...valEpoch(2),
    'Callback.onTrainEpochEnd',
    'onTrainEpochEnd',
    // ModelCheckpoint.save: state dicts, then the save hooks, callbacks first
    'Callback.stateDict',
    'Callback.onSaveCheckpoint',
    'onSaveCheckpoint',
    'Callback.onTrainEnd',
    'onTrainEnd',
    'Callback.onFitEnd',
    'onFitEnd',
    'Callback.teardown',
  ]);
});

// test_hooks.py::test_trainer_model_hook_system_fit_no_val_and_resume_max_epochs: on resume the module's
// onLoadCheckpoint runs first, then the callbacks', and only then is the optimizer and scheduler state
// restored (behaviour 11).
test('resume: onLoadCheckpoint before optimizer and scheduler state is restored (test_hooks.py resume case)', async () => {
  const root = tmp('hooks-resume');
  const first = new Trainer(quiet(root, { maxEpochs: 1, limitTrainBatches: 2, logger: false }));
  await first.fit(new HookedModel([]), new TinyData());
  const called: string[] = [];
  let lrSeen = -1;
  class Resumed extends HookedModel {
    override onLoadCheckpoint(state: CheckpointState): void {
      lrSeen = getLearningRate(this.optimizers()[0]!);
      called.push(`onLoadCheckpoint step=${state.loop.globalStep}`);
    }
  }
  const cb = new HookedCallback(called);
  cb.loadStateDict = () => called.push('Callback.loadStateDict');
  const model = new Resumed(called);
  const second = new Trainer(
    quiet(root, { maxEpochs: 2, limitTrainBatches: 2, logger: false, numSanityValSteps: 0, callbacks: [cb] }),
  );
  await second.fit(model, new TinyData(), { ckptPath: join(root, 'checkpoints', 'last.ckpt') });
  const start = called.indexOf('Callback.setup');
  assert.deepEqual(called.slice(start, start + 5), [
    'Callback.setup',
    'configureOptimizers',
    'onLoadCheckpoint step=2',
    'Callback.onLoadCheckpoint',
    'Callback.onFitStart',
  ]);
  assert.equal(lrSeen, 1, 'the scheduler state (lr 0.5 after one epoch) was not restored yet');
  assert.equal(getLearningRate(model.optimizers()[0]!), 0.25, 'restored, then stepped once more');
  assert.equal(second.globalStep, 4);
});

// Behaviour 3 — predict runs in eval mode after fit (Lightning's predict loop calls model.eval();
// test_hooks.py::test_trainer_model_hook_system_predict expects on_predict_model_eval).
test('predict right after fit runs with the module in eval mode (test_hooks.py predict case)', async () => {
  const modes: boolean[] = [];
  class Dropout extends TinyRegressor {
    drop = tf.layers.dropout({ rate: 0.5 });
    override predictStep(batch: Batch): tf.Tensor {
      modes.push(this.training);
      const [x] = batch as tf.Tensor[];
      return this.drop.apply(this.forward(x!), { training: this.training }) as tf.Tensor;
    }
  }
  const trainer = new Trainer(
    quiet(tmp('predict'), { maxEpochs: 1, enableCheckpointing: false, logger: false }),
  );
  const m = new Dropout();
  await trainer.fit(m, new TinyData());
  const a = (await trainer.predict(m, new TinyData())) as tf.Tensor[];
  const b = (await trainer.predict(m, new TinyData())) as tf.Tensor[];
  assert.deepEqual(modes, [false, false, false, false]);
  assert.deepEqual(await a[0]!.data(), await b[0]!.data(), 'no dropout: two predictions agree');
  tf.dispose([...a, ...b]);
});

// Behaviour 4 — state cleared in onValidationEpochEnd does not leak from the sanity check into the first
// real validation (the sanity check runs the validation hooks; test_hooks.py expects them around it).
test('the sanity check runs the validation epoch hooks, so per-epoch state is cleared after it', async () => {
  const counts: number[] = [];
  class Accumulating extends TinyRegressor {
    seen = 0;
    override validationStep(batch: Batch): void {
      this.seen++;
      super.validationStep(batch);
    }
    override onValidationEpochEnd(): void {
      if (!this.trainer.sanityChecking) counts.push(this.seen);
      this.seen = 0;
    }
  }
  const trainer = new Trainer(
    quiet(tmp('sanity'), { maxEpochs: 1, numSanityValSteps: 1, enableCheckpointing: false, logger: false }),
  );
  await trainer.fit(new Accumulating(), new TinyData());
  assert.deepEqual(counts, [2], 'the first validation saw its own 2 batches, not 1 + 2');
});

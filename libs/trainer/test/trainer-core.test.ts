import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import {
  type Batch,
  Callback,
  type ConfigureOptimizersResult,
  DataLoader,
  EarlyStopping,
  LearningRateMonitor,
  ModelCheckpoint,
  Module,
  readCheckpointFile,
  StepLR,
  TensorDataset,
  Trainer,
  type TrainerOptions,
  tf,
  unseed,
} from '../src/index.js';
import { makeRegressionData, quiet, TinyData, TinyRegressor, tmp } from './fixtures/tiny.js';

afterEach(() => unseed());

class TensorCount extends Callback {
  counts: number[] = [];
  override onTrainBatchEnd(): void {
    this.counts.push(tf.memory().numTensors);
  }
}

test('fit trains a tiny model end to end and the loss goes down', async () => {
  const root = tmp('fit');
  const t = new Trainer(quiet(root, { maxEpochs: 8, enableCheckpointing: false }));
  const m = new TinyRegressor({ lr: 0.05 });
  const losses: number[] = [];
  m.onTrainEpochEnd = () => {
    losses.push(t.callbackMetrics['train/loss']!);
  };
  await t.fit(m, new TinyData());
  assert.equal(t.status, 'finished');
  assert.equal(t.globalStep, 64);
  assert.equal(t.currentEpoch, 8);
  assert.ok(losses.at(-1)! < losses[0]! * 0.5, `loss fell: ${losses.join(', ')}`);
  assert.ok(Number.isFinite(t.callbackMetrics['val/loss']));
  // the default logger: a CSV file under the root dir
  const csv = readFileSync(join(root, 'default', 'version_0', 'metrics.csv'), 'utf8');
  assert.match(csv.split('\n')[0]!, /train\/loss_epoch/);
  assert.match(csv, /val\/loss/);
});

test('no tensor leaks: the live tensor count after 100 steps equals the count after step 1', async () => {
  const root = tmp('leak');
  const counter = new TensorCount();
  const t = new Trainer(
    quiet(root, {
      maxSteps: 100,
      accumulateGradBatches: 2,
      gradientClipVal: 1,
      callbacks: [
        counter,
        new ModelCheckpoint({ everyNTrainSteps: 10 }),
        new LearningRateMonitor({ loggingInterval: 'step' }),
      ],
    }),
  );
  await t.fit(new TinyRegressor(), new TinyData({ n: 64, batchSize: 4 }));
  assert.equal(t.globalStep, 100);
  // index 1: after the first optimizer step (slots exist); every later optimizer step must match it
  const afterSteps = counter.counts.filter((_, i) => i % 2 === 1);
  assert.ok(afterSteps.length >= 100);
  assert.deepEqual(
    new Set(afterSteps),
    new Set([afterSteps[0]]),
    `counts varied: ${[...new Set(afterSteps)]}`,
  );
});

class SgdRegressor extends TinyRegressor {
  override configureOptimizers(): ConfigureOptimizersResult {
    return tf.train.sgd(this.lr);
  }
}

function weights(m: Module): Float32Array[] {
  return m.namedVariables().map((v) => v.variable.dataSync() as Float32Array);
}

test('gradient accumulation over k batches equals one batch k times larger', async () => {
  const { x, y } = makeRegressionData(16);
  const data = new TensorDataset(x, y);
  const a = new SgdRegressor({ lr: 0.1 });
  const b = new SgdRegressor({ lr: 0.1 });
  const ta = new Trainer(
    quiet(tmp('acc'), { maxSteps: 1, accumulateGradBatches: 4, enableCheckpointing: false }),
  );
  await ta.fit(a, { train: new DataLoader(data, { batchSize: 4 }) });
  const tb = new Trainer(quiet(tmp('acc'), { maxSteps: 1, enableCheckpointing: false }));
  await tb.fit(b, { train: new DataLoader(data, { batchSize: 16 }) });
  assert.equal(ta.globalStep, 1);
  const wa = weights(a);
  const wb = weights(b);
  const w0 = weights(new SgdRegressor({ lr: 0.1 }));
  let moved = 0;
  wa.forEach((w, i) => {
    w.forEach((v, j) => {
      assert.ok(Math.abs(v - wb[i]![j]!) < 1e-5, `param ${i}[${j}]: ${v} vs ${wb[i]![j]}`);
      moved = Math.max(moved, Math.abs(v - w0[i]![j]!));
    });
  });
  assert.ok(moved > 1e-3, 'the step changed the weights');
});

test('clipping by norm bounds the global norm of the update; by value bounds each element', async () => {
  const { x, y } = makeRegressionData(32);
  const train = () => ({ train: new DataLoader(new TensorDataset(x.mul(50), y.mul(50)), { batchSize: 32 }) });
  const delta = async (opts: TrainerOptions) => {
    const m = new SgdRegressor({ lr: 1 });
    const before = weights(m);
    await new Trainer(quiet(tmp('clip'), { maxSteps: 1, enableCheckpointing: false, ...opts })).fit(
      m,
      train(),
    );
    return weights(m).flatMap((w, i) => Array.from(w, (v, j) => v - before[i]![j]!));
  };
  const norm = (d: number[]) => Math.sqrt(d.reduce((s, v) => s + v * v, 0));
  const unclipped = await delta({});
  assert.ok(norm(unclipped) > 1, `the unclipped update is large (${norm(unclipped)})`);
  const byNorm = await delta({ gradientClipVal: 0.5, gradientClipAlgorithm: 'norm' });
  assert.ok(norm(byNorm) <= 0.5 + 1e-4, `norm ${norm(byNorm)} <= 0.5`);
  assert.ok(norm(byNorm) > 0.49, 'clipped to the bound, not below it');
  const byValue = await delta({ gradientClipVal: 0.01, gradientClipAlgorithm: 'value' });
  assert.ok(Math.max(...byValue.map(Math.abs)) <= 0.01 + 1e-6);
});

/** Logs a scripted validation metric: one value per epoch. */
class Scripted extends TinyRegressor {
  constructor(readonly script: number[]) {
    super();
  }
  override validationStep(): void {
    const e = this.trainer.currentEpoch;
    this.log('val/loss', this.trainer.sanityChecking ? 100 : this.script[e]!);
  }
}

test('EarlyStopping stops after `patience` checks without improvement (minDelta counts)', async () => {
  const t = new Trainer(
    quiet(tmp('es'), {
      maxEpochs: 20,
      enableCheckpointing: false,
      callbacks: [new EarlyStopping({ monitor: 'val/loss', patience: 2, minDelta: 0.05 })],
    }),
  );
  // improves at 1 and 2; 3.98 is within minDelta of 4; 4.1 worse → stops after epoch 4
  await t.fit(new Scripted([5, 4.5, 4, 3.98, 4.1, 1, 1]), new TinyData());
  assert.equal(t.status, 'stopped');
  assert.equal(t.currentEpoch, 5);
  assert.match(t.stopReason!, /val\/loss did not improve/);
});

test('EarlyStopping: stoppingThreshold, divergenceThreshold and checkFinite', () => {
  const a = new EarlyStopping({ monitor: 'm', stoppingThreshold: 0.1 });
  assert.equal(a.evaluate(0.5), null);
  assert.match(a.evaluate(0.05)!, /stopping threshold reached/);
  const b = new EarlyStopping({ monitor: 'm', divergenceThreshold: 10 });
  assert.equal(b.evaluate(5), null);
  assert.match(b.evaluate(11)!, /divergence threshold reached/);
  const c = new EarlyStopping({ monitor: 'm', mode: 'max', patience: 5 });
  assert.equal(c.evaluate(1), null);
  assert.match(c.evaluate(Number.NaN)!, /m = NaN is not finite/);
  const d = new EarlyStopping({ monitor: 'm', checkFinite: false, patience: 5 });
  assert.equal(d.evaluate(Number.NaN), null);
  assert.throws(() => new EarlyStopping({ monitor: 'm', patience: -1 }), /patience must be an integer >= 0/);
  assert.throws(
    () => new EarlyStopping({ monitor: 'm', mode: 'avg' as 'min' }),
    /mode must be 'min' or 'max'/,
  );
});

test('a NaN loss with EarlyStopping(checkFinite) stops the run with a reason naming the metric', async () => {
  class NanLoss extends TinyRegressor {
    override trainingStep(batch: Batch): tf.Scalar {
      const loss = this.trainLoss(batch);
      return this.trainer.globalStep >= 3 ? (tf.mul(loss, Number.NaN) as tf.Scalar) : loss;
    }
    override validationStep(batch: Batch): void {
      super.validationStep(batch);
      if (this.trainer.globalStep >= 3) this.log('val/loss', Number.NaN);
    }
  }
  const t = new Trainer(
    quiet(tmp('nan'), {
      maxEpochs: 5,
      enableCheckpointing: false,
      callbacks: [new EarlyStopping({ monitor: 'train/loss', checkFinite: true })],
    }),
  );
  await t.fit(new NanLoss(), new TinyData());
  assert.equal(t.status, 'stopped');
  assert.equal(t.currentEpoch, 1);
  assert.match(t.stopReason!, /train\/loss = NaN is not finite/);
});

test('detectAnomaly turns a NaN loss into an error naming the step; nothing is checkpointed', async () => {
  class NanLoss extends TinyRegressor {
    override trainingStep(batch: Batch): tf.Scalar {
      const loss = this.trainLoss(batch);
      return this.trainer.globalStep === 2 ? (tf.div(loss, 0).mul(0) as tf.Scalar) : loss;
    }
  }
  const root = tmp('anomaly');
  const t = new Trainer(quiet(root, { maxEpochs: 2, detectAnomaly: true }));
  await assert.rejects(
    t.fit(new NanLoss(), new TinyData()),
    /non-finite loss \(NaN\) at epoch 0, batch 2, global step 2/,
  );
  assert.equal(t.status, 'failed');
  assert.ok(!existsSync(join(root, 'checkpoints')), 'no checkpoint written');
});

test('ModelCheckpoint keeps the top-k by the monitored metric, tracks the best, and writes last.ckpt', async () => {
  const dir = join(tmp('topk'), 'ck');
  const mc = new ModelCheckpoint({
    dirpath: dir,
    monitor: 'val/loss',
    mode: 'min',
    saveTopK: 2,
    filename: '{epoch}-{val/loss:.3f}',
  });
  const t = new Trainer(quiet(tmp('topk'), { maxEpochs: 5, callbacks: [mc] }));
  await t.fit(new Scripted([3, 1, 2, 0.5, 4]), new TinyData());
  assert.deepEqual(readdirSync(dir).sort(), [
    'epoch=1-val_loss=1.000.ckpt',
    'epoch=3-val_loss=0.500.ckpt',
    'last.ckpt',
  ]);
  assert.equal(mc.bestModelPath, join(dir, 'epoch=3-val_loss=0.500.ckpt'));
  assert.equal(mc.bestModelScore, 0.5);
  const last = await readCheckpointFile(join(dir, 'last.ckpt'));
  assert.equal(last.loop.epoch, 4);
  assert.ok(last.loop.epochFinished);
  const best = await readCheckpointFile(mc.bestModelPath);
  assert.equal(best.metrics['val/loss'], 0.5);

  const maxed = new ModelCheckpoint({
    dirpath: join(dir, 'max'),
    monitor: 'val/loss',
    mode: 'max',
    saveTopK: 1,
    saveLast: false,
  });
  await new Trainer(quiet(tmp('topk'), { maxEpochs: 5, callbacks: [maxed] })).fit(
    new Scripted([3, 1, 2, 0.5, 4]),
    new TinyData(),
  );
  assert.deepEqual(readdirSync(join(dir, 'max')), ['epoch=4-step=40-val_loss=4.0000.ckpt']);
});

test('ModelCheckpoint everyNTrainSteps without a monitor keeps the latest saveTopK; -1 keeps all', async () => {
  const dir = join(tmp('steps'), 'ck');
  const t = new Trainer(
    quiet(tmp('steps'), {
      maxSteps: 20,
      callbacks: [new ModelCheckpoint({ dirpath: dir, everyNTrainSteps: 5, saveTopK: 2 })],
    }),
  );
  await t.fit(new TinyRegressor(), new TinyData());
  assert.deepEqual(readdirSync(dir).sort(), ['epoch=1-step=15.ckpt', 'epoch=2-step=20.ckpt', 'last.ckpt']);
  const dir2 = join(tmp('steps'), 'all');
  await new Trainer(
    quiet(tmp('steps'), {
      maxSteps: 20,
      callbacks: [new ModelCheckpoint({ dirpath: dir2, everyNTrainSteps: 5, saveTopK: -1, saveLast: false })],
    }),
  ).fit(new TinyRegressor(), new TinyData());
  assert.equal(readdirSync(dir2).length, 4);
});

test('validate / test / predict load weights from ckptPath last, best or a path', async () => {
  const root = tmp('eval');
  const mc = new ModelCheckpoint({ monitor: 'val/loss', saveTopK: 1 });
  const t = new Trainer(quiet(root, { maxEpochs: 3, callbacks: [mc] }));
  const m = new TinyRegressor({ lr: 0.05 });
  await t.fit(m, new TinyData());
  const fresh = new TinyRegressor({ lr: 0.05, seed: 99 });
  const untrained = (await new Trainer(quiet(root)).test(fresh, new TinyData()))['test/loss']!;
  const viaLast = (await t.test(fresh, new TinyData(), { ckptPath: 'last' }))['test/loss']!;
  assert.ok(viaLast < untrained, `trained ${viaLast} < untrained ${untrained}`);
  const viaBest = await t.validate(new TinyRegressor({ seed: 5 }), new TinyData(), { ckptPath: 'best' });
  assert.equal(viaBest['val/loss'], mc.bestModelScore);
  const preds = await t.predict(new TinyRegressor({ seed: 6 }), new TinyData(), {
    ckptPath: mc.bestModelPath,
  });
  assert.equal(preds.length, 2);
  assert.deepEqual((preds[0] as tf.Tensor).shape, [16, 1]);
  tf.dispose(preds as tf.Tensor[]);
  await assert.rejects(
    new Trainer(quiet(root)).test(fresh, new TinyData(), { ckptPath: 'best' }),
    /ckptPath 'best' needs a ModelCheckpoint/,
  );
});

test('LR schedulers: epoch interval with frequency, step interval, and a monitored plateau', async () => {
  class Sched extends TinyRegressor {
    constructor(readonly cfg: (o: tf.Optimizer) => ConfigureOptimizersResult) {
      super({ lr: 1 });
    }
    override configureOptimizers(): ConfigureOptimizersResult {
      return this.cfg(tf.train.sgd(1));
    }
  }
  const lrs: number[] = [];
  const lrm = new LearningRateMonitor();
  class Rec extends Callback {
    override onTrainEpochEnd(tr: Trainer): void {
      lrs.push(Object.values(lrm.rates(tr))[0]!);
    }
  }
  const epochSched = new Sched((o) => ({
    optimizer: o,
    lrScheduler: { scheduler: new StepLR(o, { stepSize: 1, gamma: 0.5 }), frequency: 2 },
  }));
  const t = new Trainer(
    quiet(tmp('lr'), { maxEpochs: 4, enableCheckpointing: false, callbacks: [new Rec(), lrm] }),
  );
  await t.fit(epochSched, new TinyData());
  assert.deepEqual(lrs, [1, 0.5, 0.5, 0.25]);

  const stepSched = new Sched((o) => ({
    optimizer: o,
    lrScheduler: { scheduler: new StepLR(o, { stepSize: 4, gamma: 0.1 }), interval: 'step' },
  }));
  const t2 = new Trainer(quiet(tmp('lr'), { maxSteps: 8, enableCheckpointing: false }));
  await t2.fit(stepSched, new TinyData());
  assert.ok(Math.abs(lrm.rates(t2)['lr-SGD']! - 0.01) < 1e-12);

  const missing = new Sched((o) => ({
    optimizer: o,
    lrScheduler: { scheduler: new StepLR(o, { stepSize: 1 }), monitor: 'val/nope' },
  }));
  await assert.rejects(
    new Trainer(quiet(tmp('lr'), { maxEpochs: 1, enableCheckpointing: false })).fit(missing, new TinyData()),
    /lrScheduler monitors "val\/nope" but no such metric was logged/,
  );
});

test('manual optimization: the module drives backward and the optimizer', async () => {
  class Manual extends TinyRegressor {
    override automaticOptimization = false;
    override trainingStep(batch: Batch): Promise<tf.Scalar> {
      const [x, y] = batch as tf.Tensor[];
      const { loss, grads } = this.manualBackward(
        () => tf.losses.meanSquaredError(y!, this.forward(x!)) as tf.Scalar,
      );
      this.log('train/loss', loss);
      return this.manualStep(grads).then(() => loss);
    }
  }
  const counter = new TensorCount();
  const t = new Trainer(
    quiet(tmp('manual'), { maxEpochs: 3, enableCheckpointing: false, callbacks: [counter] }),
  );
  const m = new Manual({ lr: 0.05 });
  const before = weights(m)[0]![0];
  await t.fit(m, new TinyData());
  assert.equal(t.globalStep, 24);
  assert.notEqual(weights(m)[0]![0], before);
  assert.equal(new Set(counter.counts.slice(1)).size, 1, 'no leaks in manual mode');
});

test('limits, fastDevRun, overfitBatches, valCheckInterval and checkValEveryNEpoch', async () => {
  let vals = 0;
  class Count extends TinyRegressor {
    override validationStep(batch: Batch): void {
      if (!this.trainer.sanityChecking) vals++;
      super.validationStep(batch);
    }
  }
  const t = new Trainer(
    quiet(tmp('lim'), {
      maxEpochs: 2,
      limitTrainBatches: 0.5,
      limitValBatches: 1,
      enableCheckpointing: false,
    }),
  );
  await t.fit(new Count(), new TinyData());
  assert.equal(t.globalStep, 8);
  assert.equal(vals, 4, 'two full validations of 2 batches');

  vals = 0;
  const dev = new Trainer(quiet(tmp('lim'), { fastDevRun: 2 }));
  await dev.fit(new Count(), new TinyData());
  assert.equal(dev.globalStep, 2);
  assert.equal(vals, 2);
  assert.ok(!existsSync(join(dev.defaultRootDir, 'checkpoints')), 'fastDevRun writes no checkpoints');
  // The user's own ModelCheckpoint sits a fastDevRun out, as in Lightning, rather than failing it.
  const ckptDir = tmp('lim-ck');
  const devCkpt = new Trainer(
    quiet(tmp('lim'), { fastDevRun: 1, callbacks: [new ModelCheckpoint({ dirpath: ckptDir })] }),
  );
  await devCkpt.fit(new Count(), new TinyData());
  assert.equal(devCkpt.globalStep, 1);
  assert.deepEqual(readdirSync(ckptDir), [], 'fastDevRun writes no checkpoints');
  assert.throws(
    () => new Trainer({ enableCheckpointing: false, callbacks: [new ModelCheckpoint()] }),
    /enableCheckpointing: false conflicts with a ModelCheckpoint in callbacks/,
  );

  vals = 0;
  const mid = new Trainer(
    quiet(tmp('lim'), {
      maxEpochs: 1,
      valCheckInterval: 0.25,
      numSanityValSteps: 0,
      enableCheckpointing: false,
    }),
  );
  await mid.fit(new Count(), new TinyData());
  assert.equal(vals, 8, 'four validations (every 2 of 8 batches) of 2 batches');

  vals = 0;
  const every = new Trainer(
    quiet(tmp('lim'), { maxEpochs: 4, checkValEveryNEpoch: 2, enableCheckpointing: false }),
  );
  await every.fit(new Count(), new TinyData());
  assert.equal(vals, 4, 'validation after epochs 1 and 3');

  const of = new Trainer(quiet(tmp('lim'), { maxEpochs: 3, overfitBatches: 2, enableCheckpointing: false }));
  await of.fit(new TinyRegressor(), new TinyData());
  assert.equal(of.globalStep, 6);
});

test('minEpochs keeps training past an early stop; maxTime stops the run', async () => {
  const t = new Trainer(
    quiet(tmp('min'), {
      maxEpochs: 10,
      minEpochs: 4,
      enableCheckpointing: false,
      callbacks: [new EarlyStopping({ monitor: 'val/loss', patience: 0 })],
    }),
  );
  await t.fit(new Scripted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), new TinyData());
  assert.equal(t.currentEpoch, 4);
  class Slow extends Callback {
    override async onTrainBatchEnd(): Promise<void> {
      await new Promise((r) => setTimeout(r, 30));
    }
  }
  const timed = new Trainer(
    quiet(tmp('min'), { maxEpochs: 1000, maxTime: 0.5, enableCheckpointing: false, callbacks: [new Slow()] }),
  );
  const t0 = performance.now();
  await timed.fit(new TinyRegressor(), new TinyData());
  assert.ok(performance.now() - t0 < 5000);
  assert.match(timed.stopReason!, /time limit of 0.5 s reached/);
});

test('a loader shared by training and mid-epoch validation keeps its training position', async () => {
  const { x, y } = makeRegressionData(40);
  const seen: number[][] = [];
  const inner = new TensorDataset(x, y);
  const recording = {
    length: inner.length,
    getBatch: (idx: Int32Array) => {
      seen.push(Array.from(idx));
      return inner.getBatch(idx);
    },
  };
  const loader = new DataLoader(recording, { batchSize: 8, shuffle: true, seed: 4 });
  let trainingBatches: number[][] = [];
  class Rec extends TinyRegressor {
    override trainingStep(batch: Batch) {
      trainingBatches.push(seen.at(-1)!);
      return this.trainLoss(batch);
    }
  }
  const t = new Trainer(
    quiet(tmp('shared'), {
      maxEpochs: 2,
      valCheckInterval: 0.4,
      numSanityValSteps: 0,
      enableCheckpointing: false,
    }),
  );
  await t.fit(new Rec(), { train: loader, val: loader });
  assert.equal(t.globalStep, 10);
  for (const epoch of [0, 1]) {
    const samples = trainingBatches.slice(epoch * 5, epoch * 5 + 5).flat();
    assert.deepEqual(
      [...samples].sort((a, b) => a - b),
      Array.from({ length: 40 }, (_, i) => i),
      `epoch ${epoch}`,
    );
  }
  trainingBatches = [];
});

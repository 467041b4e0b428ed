import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type CheckpointInfo,
  type Logger,
  ModelCheckpoint,
  type Progress,
  type RunStatus,
  summarize,
  Trainer,
} from '../src/index.js';
import { quiet, TinyData, TinyRegressor, tmp } from './fixtures/tiny.js';

class RecordingLogger implements Logger {
  readonly name = 'recording';
  metrics: { m: Record<string, number>; step: number }[] = [];
  hparams: Record<string, unknown>[] = [];
  checkpoints: CheckpointInfo[] = [];
  progress: Progress[] = [];
  finalized: RunStatus[] = [];
  setupCalls = 0;
  setup(): void {
    this.setupCalls++;
  }
  logMetrics(m: Record<string, number>, step: number): void {
    this.metrics.push({ m, step });
  }
  logHyperparams(p: Record<string, unknown>): void {
    this.hparams.push(p);
  }
  logCheckpoint(info: CheckpointInfo): void {
    this.checkpoints.push(info);
  }
  logProgress(p: Progress): void {
    this.progress.push(p);
  }
  async finalize(status: RunStatus): Promise<void> {
    this.finalized.push(status);
  }
}

/** Captures what the Trainer writes to stderr (progress lines, profiler table, summary). */
async function captureStderr(fn: () => Promise<void>): Promise<string> {
  const orig = process.stderr.write.bind(process.stderr);
  let out = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stderr.write = orig;
  }
  return out;
}

test('loggers get hyperparameters, step metrics every logEveryNSteps, epoch means, checkpoints, progress and finalize', async () => {
  const lg = new RecordingLogger();
  const dir = join(tmp('log'), 'ck');
  const t = new Trainer(
    quiet(tmp('log'), {
      maxEpochs: 2,
      logEveryNSteps: 4,
      logger: lg,
      callbacks: [new ModelCheckpoint({ dirpath: dir, monitor: 'val/loss' })],
    }),
  );
  await t.fit(new TinyRegressor(), new TinyData());
  assert.equal(lg.setupCalls, 1);
  assert.deepEqual(lg.hparams, [{ lr: 0.01 }]);
  const stepLogs = lg.metrics.filter((r) => 'train/loss_step' in r.m);
  assert.deepEqual(
    stepLogs.map((r) => r.step),
    [4, 8, 12, 16],
  );
  const epochLogs = lg.metrics.filter((r) => 'train/loss_epoch' in r.m);
  assert.deepEqual(
    epochLogs.map((r) => [r.step, r.m.epoch]),
    [
      [8, 0],
      [16, 1],
    ],
  );
  const valLogs = lg.metrics.filter((r) => 'val/loss' in r.m);
  assert.equal(valLogs.length, 2, 'sanity-check validation is not logged');
  assert.equal(lg.checkpoints.length, 2);
  assert.ok(lg.checkpoints.every((c) => c.sha256.length === 64 && c.sizeBytes > 0));
  assert.equal(lg.checkpoints[0]!.isBest, true);
  assert.deepEqual(
    lg.progress.map((p) => [p.step, p.totalSteps]),
    [
      [4, 16],
      [8, 16],
      [12, 16],
      [16, 16],
    ],
  );
  assert.deepEqual(lg.finalized, ['success']);
  // an epoch mean is the batch-size-weighted mean of the step values
  assert.ok(Number.isFinite(epochLogs[0]!.m['train/loss_epoch']));
});

test('progress ends on the step fit ended on, logging step or not, and is not reported twice', async () => {
  const lg = new RecordingLogger();
  const t = new Trainer(quiet(tmp('progress-end'), { maxEpochs: 2, logEveryNSteps: 5, logger: lg }));
  await t.fit(new TinyRegressor(), new TinyData());
  assert.deepEqual(
    lg.progress.map((p) => [p.step, p.totalSteps]),
    [
      [5, 16],
      [10, 16],
      [15, 16],
      [16, 16],
    ],
  );
  // A second fit with nothing left to train reports nothing new.
  await t.fit(new TinyRegressor(), new TinyData());
  assert.equal(lg.progress.length, 4);

  const stopped = new RecordingLogger();
  const s = new Trainer(quiet(tmp('progress-steps'), { maxSteps: 7, logEveryNSteps: 5, logger: stopped }));
  await s.fit(new TinyRegressor(), new TinyData());
  assert.deepEqual(
    stopped.progress.map((p) => p.step),
    [5, 7],
  );
});

test('a failed fit finalizes loggers with failed', async () => {
  const lg = new RecordingLogger();
  class Boom extends TinyRegressor {
    override configureOptimizers(): never {
      throw new Error('boom');
    }
  }
  await assert.rejects(
    new Trainer(quiet(tmp('fail'), { logger: lg })).fit(new Boom(), new TinyData()),
    /boom/,
  );
  assert.deepEqual(lg.finalized, ['failed']);
});

test("profiler 'simple' prints a table of step phases; progress lines appear when stderr is not a terminal", async () => {
  const out = await captureStderr(async () => {
    await new Trainer({
      backend: 'cpu',
      defaultRootDir: tmp('prof'),
      maxEpochs: 1,
      profiler: 'simple',
      enableCheckpointing: false,
    }).fit(new TinyRegressor(), new TinyData());
  });
  assert.match(out, /Profiler report/);
  for (const row of [
    'trainingStep\\+backward',
    'optimizerStep',
    'afterOptimizerStep',
    'getTrainBatch',
    'validateStep',
    'ProgressBar.onTrainBatchEnd',
  ]) {
    assert.match(out, new RegExp(`│ ${row} +│ +[\\d.]+ │`), row);
  }
  assert.match(out, /epoch 0 batch 8\/8 step 8 [\d.]+ it\/s loss=[\d.]+/);
  assert.match(out, /epoch 0 validation val\/loss=[\d.]+/);
  assert.match(out, /│ net\/0 +│ \[4, 8\] +│ +32 │ yes/, 'model summary');
});

test('summarize counts parameters per variable', () => {
  const s = summarize(new TinyRegressor({ hidden: 8 }));
  assert.deepEqual(
    s.rows.map((r) => [r.name, r.params]),
    [
      ['net/0', 32],
      ['net/1', 8],
      ['net/2', 8],
      ['net/3', 1],
      ['bias', 1],
    ],
  );
  assert.equal(s.total, 50);
  assert.equal(s.trainable, 50);
});

import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type Batch,
  CHECKPOINT_FORMAT_VERSION,
  type ConfigureOptimizersResult,
  DataLoader,
  ModelCheckpoint,
  readCheckpointFile,
  type StepOutput,
  TensorDataset,
  Trainer,
  type TrainerOptions,
  tf,
} from '../src/index.js';
import { quiet, TinyData, TinyRegressor, tmp } from './fixtures/tiny.js';

test('unknown Trainer options are errors that suggest the right name', () => {
  assert.throws(
    () => new Trainer({ maxEpoch: 3 } as TrainerOptions),
    /unknown Trainer option "maxEpoch" \(did you mean "maxEpochs"\?\)/,
  );
  assert.throws(
    () => new Trainer({ bogus: 1 } as TrainerOptions),
    /^TrainerOptionError: unknown Trainer option "bogus"$/,
  );
});

test('wrong option types name the option, what it takes and what it got', () => {
  const cases: [unknown, RegExp][] = [
    [{ maxEpochs: '5' }, /"maxEpochs" must be an integer >= -1, got "5"/],
    [{ accelerator: 'tpu' }, /"accelerator" must be one of 'cpu', 'gpu', 'auto', got "tpu"/],
    [{ gradientClipVal: -1 }, /"gradientClipVal" must be a positive number/],
    [{ gradientClipAlgorithm: 'norm' }, /"gradientClipAlgorithm" needs "gradientClipVal"/],
    [
      { limitTrainBatches: 1.5 },
      /"limitTrainBatches" must be a batch count \(integer >= 0\) or a fraction in \[0, 1\]/,
    ],
    [{ maxTime: '1:2' }, /"maxTime" must be a duration/],
    [{ minEpochs: 5, maxEpochs: 2 }, /"minEpochs" \(5\) exceeds "maxEpochs" \(2\)/],
    [{ seed: -3 }, /"seed" must be an integer in \[0, 2\^32\)/],
    [{ callbacks: {} }, /"callbacks" must be an array of Callback objects/],
  ];
  for (const [opts, re] of cases) assert.throws(() => new Trainer(opts as TrainerOptions), re);
  assert.throws(
    () => new ModelCheckpoint({ saveTopk: 2 } as never),
    /unknown ModelCheckpoint option "saveTopk"/,
  );
  assert.throws(
    () => new DataLoader(new TensorDataset(tf.zeros([4, 1])), { batchSize: 0 }),
    /batchSize must be a positive integer, got 0/,
  );
  assert.throws(
    () => new DataLoader(new TensorDataset(tf.zeros([4, 1])), { batch: 2 } as never),
    /unknown DataLoader option "batch"/,
  );
});

test('a trainingStep that returns no loss is a clear error and nothing is written', async () => {
  class NoLoss extends TinyRegressor {
    override trainingStep(batch: Batch): undefined {
      this.trainLoss(batch);
      return undefined;
    }
  }
  const root = tmp('noloss');
  const module = new NoLoss();
  const data = new TinyData();
  data.setup();
  const before = tf.memory().numTensors;
  await assert.rejects(
    new Trainer(quiet(root, { maxEpochs: 1 })).fit(module, data),
    /NoLoss\.trainingStep \(batch 0\) returned nothing; it must return the loss \(a scalar tensor\) or \{ loss \}/,
  );
  assert.ok(!existsSync(join(root, 'checkpoints')));
  // all that remains is Adam's own two beta-power variables (the optimizer outlives the failed fit)
  assert.equal(tf.memory().numTensors, before + 2, 'the failed step released its tensors');
  class ObjLoss extends TinyRegressor {
    override trainingStep(): StepOutput {
      return { value: 1 } as never;
    }
  }
  await assert.rejects(
    new Trainer(quiet(root, { maxEpochs: 1 })).fit(new ObjLoss(), new TinyData()),
    /an object without a "loss" tensor \(keys: value\)/,
  );
  class Vec extends TinyRegressor {
    override trainingStep(): tf.Tensor {
      return tf.ones([3]);
    }
  }
  await assert.rejects(
    new Trainer(quiet(root, { maxEpochs: 1 })).fit(new Vec(), new TinyData()),
    /the loss must be a scalar, got shape \[3\]/,
  );
});

test('a bad configureOptimizers result and a module without variables are clear errors', async () => {
  class BadOpt extends TinyRegressor {
    override configureOptimizers(): ConfigureOptimizersResult {
      return { opt: tf.train.adam() } as never;
    }
  }
  await assert.rejects(
    new Trainer(quiet(tmp('bad'))).fit(new BadOpt(), new TinyData()),
    /configureOptimizers\(\) must return a tf.Optimizer, \{ optimizer, lrScheduler\? \} or an array of them; got Object/,
  );
  class Empty extends TinyRegressor {
    constructor() {
      super();
      this.net = undefined as never;
      this.bias = undefined as never;
    }
  }
  await assert.rejects(
    new Trainer(quiet(tmp('bad'))).fit(new Empty(), new TinyData()),
    /Empty has no trainable variables/,
  );
  await assert.rejects(
    new Trainer(quiet(tmp('bad'))).fit(new TinyRegressor(), {} as never),
    /fit needs training data/,
  );
});

async function savedCheckpoint(): Promise<string> {
  const dir = join(tmp('ck'), 'ck');
  await new Trainer(
    quiet(tmp('ck'), { maxEpochs: 1, callbacks: [new ModelCheckpoint({ dirpath: dir, saveTopK: 0 })] }),
  ).fit(new TinyRegressor(), new TinyData());
  return join(dir, 'last.ckpt');
}

test('corrupted, truncated, future-version and foreign checkpoints are clear errors', async () => {
  const good = await savedCheckpoint();
  const bytes = readFileSync(good);
  const state = await readCheckpointFile(good);
  assert.equal(state.formatVersion, CHECKPOINT_FORMAT_VERSION);
  assert.ok(state.tensors.size > 4);
  const dir = tmp('bad-ck');

  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 100]! ^= 0xff;
  writeFileSync(join(dir, 'flipped.ckpt'), flipped);
  await assert.rejects(
    readCheckpointFile(join(dir, 'flipped.ckpt')),
    /flipped.ckpt: corrupted: sha256 of the contents does not match/,
  );

  writeFileSync(join(dir, 'cut.ckpt'), bytes.subarray(0, bytes.length - 1000));
  await assert.rejects(
    readCheckpointFile(join(dir, 'cut.ckpt')),
    new RegExp(`cut.ckpt: truncated: ${bytes.length - 1000} of ${bytes.length} bytes present`),
  );

  writeFileSync(join(dir, 'tiny.ckpt'), bytes.subarray(0, 5));
  await assert.rejects(readCheckpointFile(join(dir, 'tiny.ckpt')), /truncated: only 5 bytes/);

  const future = Buffer.from(bytes);
  future.writeUInt32LE(CHECKPOINT_FORMAT_VERSION + 6, 8);
  writeFileSync(join(dir, 'future.ckpt'), future);
  await assert.rejects(
    readCheckpointFile(join(dir, 'future.ckpt')),
    new RegExp(
      `format version ${CHECKPOINT_FORMAT_VERSION + 6} is newer than this Kiln reads \\(up to ${CHECKPOINT_FORMAT_VERSION}\\); upgrade`,
    ),
  );

  writeFileSync(join(dir, 'foreign.ckpt'), 'PK\u0003\u0004 not a checkpoint at all, just some bytes');
  await assert.rejects(readCheckpointFile(join(dir, 'foreign.ckpt')), /not a Kiln checkpoint/);
  await assert.rejects(readCheckpointFile(join(dir, 'missing.ckpt')), /missing.ckpt: no such file/);

  // through the Trainer: the error surfaces before any training or writing
  const root = tmp('bad-ck-fit');
  await assert.rejects(
    new Trainer(quiet(root, { maxEpochs: 1 })).fit(new TinyRegressor(), new TinyData(), {
      ckptPath: join(dir, 'cut.ckpt'),
    }),
    /truncated/,
  );
  assert.ok(!existsSync(join(root, 'checkpoints')));
});

test('a checkpoint from a different architecture is refused with the mismatching weight named', async () => {
  const good = await savedCheckpoint();
  await assert.rejects(
    new Trainer(quiet(tmp('arch'), { maxEpochs: 1 })).fit(new TinyRegressor({ hidden: 5 }), new TinyData(), {
      ckptPath: good,
    }),
    /weight "net\/0" is float32\[4,8\] in the checkpoint but float32\[4,5\] in the module/,
  );
});

test("ckptPath 'last' without a checkpoint starts from scratch; a missing explicit path is an error", async () => {
  const root = tmp('nolast');
  const t = new Trainer(quiet(root, { maxEpochs: 1 }));
  await t.fit(new TinyRegressor(), new TinyData(), { ckptPath: 'last' });
  assert.equal(t.globalStep, 8);
  await assert.rejects(
    new Trainer(quiet(root)).fit(new TinyRegressor(), new TinyData(), { ckptPath: join(root, 'nope.ckpt') }),
    /nope.ckpt: no such file/,
  );
});

test('devices > 1 without a launcher is an error that says how to launch', async () => {
  await assert.rejects(
    new Trainer(quiet(tmp('dev'), { devices: 2 })).fit(new TinyRegressor(), new TinyData()),
    /devices: 2 asks for 2 processes but this one runs alone .*kiln fit <script> --devices N/,
  );
});

test('a precision the backend cannot run is an error naming the backend and why', async () => {
  await assert.rejects(
    new Trainer(quiet(tmp('prec'), { precision: '16-mixed' })).fit(new TinyRegressor(), new TinyData()),
    // KILN_FORCE_BACKEND may run this suite on another backend; each names itself and its reason
    /precision '16-mixed' is not supported on the '(cpu|tensorflow|wasm)' backend: .+ Use precision '32'/,
  );
  assert.throws(
    () => new Trainer({ precision: 'fp8' as never }),
    /"precision" must be '32', '16-mixed' or 'bf16-mixed', got "fp8"/,
  );
  const t = new Trainer(quiet(tmp('prec'), { precision: '32', maxSteps: 1, enableCheckpointing: false }));
  await t.fit(new TinyRegressor(), new TinyData());
  assert.deepEqual(t.precision, { precision: '32', computeDtype: 'float32', lossScaling: false });
});

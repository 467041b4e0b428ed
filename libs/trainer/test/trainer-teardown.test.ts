// The Trainer tears its strategy down at the end of every fit/validate/test/predict, once, however the
// call ends: success, an exception, an early stop, a preemption; the next call sets it up again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Callback,
  PreemptionHandler,
  SingleDeviceStrategy,
  Trainer,
  type TrainerOptions,
} from '../src/index.js';
import { quiet, TinyData, TinyRegressor, tmp } from './fixtures/tiny.js';

/** The single-device strategy, recording the order of setup and teardown calls. */
class RecordingStrategy extends SingleDeviceStrategy {
  readonly calls: string[] = [];
  failTeardown: Error | null = null;
  override async setup(): Promise<void> {
    this.calls.push('setup');
  }
  override async teardown(): Promise<void> {
    this.calls.push('teardown');
    if (this.failTeardown) throw this.failTeardown;
  }
}

/** Acts on the trainer after the given optimizer step. */
class AtStep extends Callback {
  constructor(
    private readonly step: number,
    private readonly act: (t: Trainer) => void,
  ) {
    super();
  }
  override onTrainBatchEnd(trainer: Trainer): void {
    if (trainer.globalStep === this.step) this.act(trainer);
  }
}

const setUp = (extra: TrainerOptions = {}) => {
  const strategy = new RecordingStrategy();
  const trainer = new Trainer(
    quiet(tmp('teardown'), { maxEpochs: 2, logger: false, enableCheckpointing: false, strategy, ...extra }),
  );
  return { strategy, trainer };
};

test('fit that succeeds tears the strategy down once', { timeout: 60_000 }, async () => {
  const { strategy, trainer } = setUp();
  await trainer.fit(new TinyRegressor(), new TinyData());
  assert.equal(trainer.status, 'finished');
  assert.deepEqual(strategy.calls, ['setup', 'teardown']);
});

test('fit that throws tears the strategy down once and rethrows the error', { timeout: 60_000 }, async () => {
  class Failing extends TinyRegressor {
    override trainingStep(batch: Parameters<TinyRegressor['trainingStep']>[0]) {
      if (this.trainer.globalStep === 3) throw new Error('boom at step 3');
      return super.trainingStep(batch);
    }
  }
  const { strategy, trainer } = setUp();
  await assert.rejects(trainer.fit(new Failing(), new TinyData()), /boom at step 3/);
  assert.equal(trainer.status, 'failed');
  assert.deepEqual(strategy.calls, ['setup', 'teardown']);
});

test('an early stop and a preemption tear the strategy down once', { timeout: 60_000 }, async () => {
  const stopped = setUp({
    callbacks: [
      new AtStep(2, (t) => {
        t.shouldStop = true;
      }),
    ],
  });
  await stopped.trainer.fit(new TinyRegressor(), new TinyData());
  assert.equal(stopped.trainer.status, 'stopped');
  assert.equal(stopped.trainer.globalStep, 2);
  assert.deepEqual(stopped.strategy.calls, ['setup', 'teardown']);

  // what PreemptionHandler does on SIGTERM; exit: false, or fit would end this process with 143
  const preempted = setUp({
    enableCheckpointing: true,
    callbacks: [
      new PreemptionHandler({ exit: false }),
      new AtStep(3, (t) => {
        t.preemptRequested = true;
      }),
    ],
  });
  await preempted.trainer.fit(new TinyRegressor(), new TinyData());
  assert.equal(preempted.trainer.status, 'preempted');
  assert.deepEqual(preempted.strategy.calls, ['setup', 'teardown']);
});

test('validate, test and predict each set up and tear down; a setup that fails is torn down', {
  timeout: 60_000,
}, async () => {
  const { strategy, trainer } = setUp();
  const model = new TinyRegressor();
  const data = new TinyData();
  await trainer.fit(model, data);
  await trainer.validate(model, data);
  await trainer.test(model, data);
  const out = await trainer.predict(model, data);
  for (const t of out) (t as { dispose(): void }).dispose();
  assert.deepEqual(strategy.calls, Array(4).fill(['setup', 'teardown']).flat());

  class FailingSetup extends RecordingStrategy {
    override async setup(): Promise<void> {
      await super.setup();
      throw new Error('rendezvous failed');
    }
  }
  const failing = new FailingSetup();
  const t2 = new Trainer(quiet(tmp('teardown-setup'), { maxEpochs: 1, logger: false, strategy: failing }));
  await assert.rejects(t2.fit(new TinyRegressor(), new TinyData()), /rendezvous failed/);
  assert.deepEqual(failing.calls, ['setup', 'teardown']);
});

test('a teardown that fails is an error after success, and does not hide the error of a failed run', {
  timeout: 60_000,
}, async () => {
  const ok = setUp();
  ok.strategy.failTeardown = new Error('ring close timed out');
  await assert.rejects(
    ok.trainer.fit(new TinyRegressor(), new TinyData()),
    /strategy 'single' teardown failed: ring close timed out/,
  );
  assert.deepEqual(ok.strategy.calls, ['setup', 'teardown']);

  const bad = setUp({
    callbacks: [
      new AtStep(1, () => {
        throw new Error('callback broke');
      }),
    ],
  });
  bad.strategy.failTeardown = new Error('ring close timed out');
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => {
    written.push(String(s));
    return true;
  }) as typeof process.stderr.write;
  try {
    await assert.rejects(bad.trainer.fit(new TinyRegressor(), new TinyData()), /callback broke/);
  } finally {
    process.stderr.write = write;
  }
  assert.deepEqual(bad.strategy.calls, ['setup', 'teardown']);
  assert.ok(
    written.some((s) => s.includes("strategy 'single' teardown failed: ring close timed out")),
    written.join(''),
  );
});

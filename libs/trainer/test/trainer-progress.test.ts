// The built-in progress endpoint (what the operator reads into a TrainingJob's status), over real HTTP
// on loopback: the Trainer adds it when KILN_PROGRESS_PORT is set, its answers follow training, and it
// is closed when fit ends, whether fit succeeded or failed.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { type ProgressReport, ProgressReportSchema } from '@kiln/spec';
import { Value } from '@sinclair/typebox/value';
import {
  Callback,
  ModelCheckpoint,
  type Module,
  ProgressEndpoint,
  SingleDeviceStrategy,
  type Strategy,
  Trainer,
  type TrainerOptions,
} from '../src/index.js';
import { quiet, TinyData, TinyRegressor, tmp } from './fixtures/tiny.js';

/** A Trainer built with the given environment variables set (and restored afterwards). */
function trainerWithEnv(env: Record<string, string>, opts: TrainerOptions): Trainer {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return new Trainer(opts);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const endpointOf = (t: Trainer) => {
  const e = t.callbacks.find((c) => c instanceof ProgressEndpoint);
  assert.ok(e, 'the Trainer added a ProgressEndpoint');
  return e as ProgressEndpoint;
};

const urlOf = (e: ProgressEndpoint) => {
  const a = e.address;
  assert.ok(a, 'listening while fit runs');
  return `http://${a.host}:${a.port}/progress`;
};

/** GETs /progress from inside the loop at the given steps (the server answers in the same process). */
class Probe extends Callback {
  readonly reports = new Map<number, ProgressReport>();
  url = '';
  constructor(
    private readonly endpoint: () => ProgressEndpoint,
    private readonly atSteps: number[],
  ) {
    super();
  }
  override async onTrainBatchEnd(trainer: Trainer): Promise<void> {
    if (!this.atSteps.includes(trainer.globalStep)) return;
    this.url = urlOf(this.endpoint());
    const res = await fetch(this.url, { signal: AbortSignal.timeout(30_000) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const report: unknown = await res.json();
    // the worker contract's schema, the one the operator reads with
    assert.ok(
      Value.Check(ProgressReportSchema, report),
      JSON.stringify([...Value.Errors(ProgressReportSchema, report)]),
    );
    this.reports.set(trainer.globalStep, report as ProgressReport);
  }
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return false;
  } catch (err) {
    return /ECONNREFUSED/.test(String((err as { cause?: unknown }).cause ?? err));
  }
}

test('with KILN_PROGRESS_PORT set, rank 0 serves /progress that follows training and closes after fit', {
  timeout: 120_000,
}, async () => {
  const root = tmp('progress');
  let trainer: Trainer | undefined;
  const probe = new Probe(() => endpointOf(trainer!), [2, 11]);
  // 64 samples / batch 8 = 8 steps per epoch, 2 epochs = 16 steps; a checkpoint every 5 steps
  trainer = trainerWithEnv(
    { KILN_PROGRESS_PORT: '0', KILN_POD_IP: '127.0.0.1' },
    quiet(root, {
      maxEpochs: 2,
      logger: false,
      callbacks: [
        probe,
        new ModelCheckpoint({ dirpath: `${root}/ckpt`, everyNTrainSteps: 5, saveTopK: 0, saveLast: true }),
      ],
    }),
  );
  const endpoint = endpointOf(trainer);
  assert.equal(endpoint.host, '127.0.0.1');
  assert.equal(endpoint.listening, false, 'nothing listens before fit');
  await trainer.fit(new TinyRegressor(), new TinyData());

  const early = probe.reports.get(2);
  const late = probe.reports.get(11);
  assert.ok(early && late, `reports at steps 2 and 11: ${[...probe.reports.keys()]}`);
  assert.deepEqual(
    {
      step: early.step,
      epoch: early.epoch,
      totalSteps: early.totalSteps,
      maxEpochs: early.maxEpochs,
      maxSteps: early.maxSteps,
      fraction: early.fraction,
      percent: early.percent,
      status: early.status,
    },
    {
      step: 2,
      epoch: 0,
      totalSteps: 16,
      maxEpochs: 2,
      maxSteps: null,
      fraction: 0.125,
      percent: 12.5,
      status: 'running',
    },
  );
  assert.equal(typeof early.metrics['train/loss'], 'number', JSON.stringify(early.metrics));
  assert.equal(early.checkpoint, undefined, 'no checkpoint before step 5');
  assert.equal(late.step, 11);
  assert.equal(late.epoch, 1);
  assert.equal(late.percent, 68.8);
  assert.ok(late.etaSeconds !== null && late.etaSeconds >= 0, `ETA ${late.etaSeconds}`);
  assert.ok(late.elapsedSeconds > 0);
  assert.notEqual(late.metrics['train/loss'], early.metrics['train/loss'], 'metrics follow training');
  assert.ok(Number.isFinite(late.metrics['val/loss']), 'validation metrics after epoch 0');
  assert.equal(late.checkpoint?.step, 10);
  assert.match(late.checkpoint?.path ?? '', /last\.ckpt$/);
  assert.ok(!Number.isNaN(Date.parse(late.checkpoint?.time ?? '')));

  assert.equal(endpoint.listening, false, 'closed at the end of fit');
  assert.equal(endpoint.address, null);
  assert.ok(await refused(probe.url), 'the port no longer answers');
});

test('the endpoint answers 404 elsewhere and 405 to other methods', { timeout: 60_000 }, async () => {
  const answers: [string, number][] = [];
  let trainer: Trainer | undefined;
  class Ask extends Callback {
    override async onTrainBatchEnd(t: Trainer): Promise<void> {
      if (t.globalStep !== 1) return;
      const url = urlOf(endpointOf(trainer!));
      const base = url.replace(/\/progress$/, '');
      for (const [method, path] of [
        ['GET', '/'],
        ['POST', '/progress'],
        ['GET', '/progress?x=1'],
      ] as const) {
        const res = await fetch(base + path, { method, signal: AbortSignal.timeout(30_000) });
        await res.arrayBuffer();
        answers.push([`${method} ${path}`, res.status]);
      }
    }
  }
  trainer = trainerWithEnv(
    { KILN_PROGRESS_PORT: '0' },
    quiet(tmp('progress-404'), {
      maxSteps: 2,
      logger: false,
      enableCheckpointing: false,
      callbacks: [new Ask()],
    }),
  );
  await trainer.fit(new TinyRegressor(), new TinyData());
  assert.deepEqual(answers, [
    ['GET /', 404],
    ['POST /progress', 405],
    ['GET /progress?x=1', 200],
  ]);
});

test('the endpoint is closed when fit fails', { timeout: 60_000 }, async () => {
  class Failing extends TinyRegressor {
    override trainingStep(batch: Parameters<TinyRegressor['trainingStep']>[0]) {
      if (this.trainer.globalStep === 3) throw new Error('boom at step 3');
      return super.trainingStep(batch);
    }
  }
  let trainer: Trainer | undefined;
  const probe = new Probe(() => endpointOf(trainer!), [2]);
  trainer = trainerWithEnv(
    { KILN_PROGRESS_PORT: '0' },
    quiet(tmp('progress-fail'), {
      maxEpochs: 1,
      logger: false,
      enableCheckpointing: false,
      callbacks: [probe],
    }),
  );
  await assert.rejects(trainer.fit(new Failing(), new TinyData()), /boom at step 3/);
  assert.equal(probe.reports.get(2)?.step, 2, 'it served while training ran');
  assert.equal(endpointOf(trainer).listening, false);
  assert.ok(await refused(probe.url));
});

test('only global rank 0 serves; a port that cannot be bound is a warning, not a failed run', {
  timeout: 60_000,
}, async () => {
  // the single-device strategy as another rank would see itself
  const notRankZero: Strategy = Object.assign(new SingleDeviceStrategy(), { rank: 1, isGlobalZero: false });
  const other = trainerWithEnv(
    { KILN_PROGRESS_PORT: '0' },
    quiet(tmp('progress-rank1'), {
      maxSteps: 2,
      logger: false,
      enableCheckpointing: false,
      strategy: notRankZero,
      callbacks: [
        new (class extends Callback {
          override onTrainBatchEnd(t: Trainer) {
            assert.equal(endpointOf(t).listening, false, 'rank 1 does not listen');
          }
        })(),
      ],
    }),
  );
  await other.fit(new TinyRegressor(), new TinyData());
  assert.equal(other.globalStep, 2);

  const taken = createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  const port = (taken.address() as { port: number }).port;
  const warnings: string[] = [];
  const endpoint = new ProgressEndpoint({ port, warn: (m) => warnings.push(m) });
  const t = new Trainer(
    quiet(tmp('progress-taken'), {
      maxSteps: 3,
      logger: false,
      enableCheckpointing: false,
      callbacks: [endpoint],
    }),
  );
  try {
    await t.fit(new TinyRegressor(), new TinyData());
  } finally {
    taken.close();
  }
  assert.equal(t.globalStep, 3, 'training went on');
  assert.equal(t.callbacks.filter((c) => c instanceof ProgressEndpoint).length, 1, 'the given one only');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} .*EADDRINUSE`));
});

test('KILN_POD_IP picks the address; a bad KILN_PROGRESS_PORT is an error naming it', {
  timeout: 60_000,
}, async () => {
  let host = '';
  const trainer = trainerWithEnv(
    { KILN_PROGRESS_PORT: '0', KILN_POD_IP: '127.0.0.2' },
    quiet(tmp('progress-ip'), {
      maxSteps: 1,
      logger: false,
      enableCheckpointing: false,
      callbacks: [
        new (class extends Callback {
          override onTrainBatchEnd(t: Trainer, _m: Module) {
            host = endpointOf(t).address?.host ?? '';
          }
        })(),
      ],
    }),
  );
  await trainer.fit(new TinyRegressor(), new TinyData());
  assert.equal(host, '127.0.0.2');

  for (const bad of ['http', '-1', '65536', '80.5', '8O80']) {
    assert.throws(
      () => trainerWithEnv({ KILN_PROGRESS_PORT: bad }, quiet(tmp('progress-bad'))),
      new RegExp(`KILN_PROGRESS_PORT=${JSON.stringify(bad).replace(/[.]/g, '\\.')}: expected a TCP port`),
      bad,
    );
  }
  // unset or empty: no endpoint
  const none = trainerWithEnv({ KILN_PROGRESS_PORT: '' }, quiet(tmp('progress-none')));
  assert.equal(
    none.callbacks.some((c) => c instanceof ProgressEndpoint),
    false,
  );
});

import { ENV } from '@kiln/spec';
import { explainKernelError, selectBackend } from '../backend/index.js';
import type { Module } from '../core/module.js';
import { seedEverything } from '../core/rng.js';
import type { Stage } from '../data/datamodule.js';
import type { RunStatus } from '../loggers/logger.js';
import { resolvePrecision } from '../precision/support.js';
import { type DataSource, isDataModule } from './data-source.js';
import type { Trainer, TrainerStatus } from './trainer.js';

/**
 * Runs one of fit/validate/test/predict: backend, strategy, loggers, datamodule and callback setup
 * around `body`, and the teardown of each however the body ends (success, error, stop, preemption).
 */
export async function runStage<T>(
  trainer: Trainer,
  stage: Stage,
  module: Module,
  data: DataSource | undefined,
  body: () => Promise<T>,
): Promise<T> {
  if (module === null || typeof module !== 'object' || typeof module.trainingStep !== 'function') {
    throw new Error(`${stage} needs a Module (a class extending Module), got ${typeof module}`);
  }
  const t = trainer;
  const c = t.config;
  t.module = module;
  module._trainer = t;
  t.stage = stage;
  t.status = 'running';
  t.preemptRequested = false;
  t.shouldStop = false;
  t.stopReason = null;
  t.backend = await selectBackend({
    accelerator: c.accelerator,
    backend: c.backend,
    intraOpThreads: c.intraOpThreads ?? undefined,
    interOpThreads: c.interOpThreads ?? undefined,
  });
  // half precision is refused with the reason when the backend cannot hold 16-bit tensors
  t.precision = resolvePrecision(c.precision, t.backend.name);
  if (c.seed !== null || c.deterministic) seedEverything(c.seed ?? 0);
  // From setup on, the strategy is torn down when this call ends, however it ends; the next
  // fit/validate/test/predict sets it up again.
  let ok = false;
  try {
    const result = await setUpAndRun(t, stage, module, data, body);
    ok = true;
    return result;
  } finally {
    await teardownStrategy(t, ok);
  }
}

async function setUpAndRun<T>(
  t: Trainer,
  stage: Stage,
  module: Module,
  data: DataSource | undefined,
  body: () => Promise<T>,
): Promise<T> {
  const c = t.config;
  const backend = t.backend!;
  if (!t.strategyReady) {
    if (c.strategy === 'ddp' || (c.strategy === 'auto' && Number(process.env[ENV.worldSize] ?? 1) > 1)) {
      t.strategy = await loadDdpStrategy();
    }
    t.strategyReady = true; // set before setup: a setup that fails half-way is torn down too
    await t.strategy.setup();
  }
  const wanted = typeof c.devices === 'number' ? c.devices * (c.numNodes ?? 1) : 1;
  if (wanted > t.strategy.worldSize) {
    throw new Error(
      `devices: ${c.devices}${c.numNodes ? ` × numNodes: ${c.numNodes}` : ''} asks for ${wanted} processes but this one runs alone ` +
        '(no WORLD_SIZE in the environment): start it with `kiln fit <script> --devices N`, which launches the ranks',
    );
  }
  if (!t.loggersReady && t.isGlobalZero) {
    // one context object for all loggers: file loggers then share one version_<n> folder
    const loggerCtx = { defaultRootDir: t.defaultRootDir, isGlobalZero: true };
    for (const lg of t.loggers) await lg.setup?.(loggerCtx);
    if (Object.keys(module.hparams).length)
      for (const lg of t.loggers) await lg.logHyperparams(module.hparams);
    t.loggersReady = true;
  }
  const dm = isDataModule(data) ? data : null;
  t.datamodule = dm;
  if (dm) {
    if (t.strategy.localRank === 0) await dm.prepareData();
    await t.strategy.barrier('prepareData');
    await dm.setup(stage);
  }
  await t.hooks.callbacks('setup', module, stage);
  module._logSink = t.barebones ? null : t.metrics;
  let status: RunStatus = 'success';
  try {
    const result = await body();
    const st = t.status as TrainerStatus;
    t.status = st === 'preempted' ? 'preempted' : t.shouldStop ? 'stopped' : 'finished';
    if (st === 'preempted') status = 'interrupted';
    return result;
  } catch (err) {
    status = 'failed';
    t.status = 'failed';
    const explained = explainKernelError(err, backend.name);
    await t.hooks.callbacks('onException', module, explained);
    throw explained;
  } finally {
    t.optimization.disposeAccumulated();
    module._logSink = null;
    await t.hooks.callbacks('teardown', module, stage);
    if (dm) await dm.teardown(stage);
    if (t.isGlobalZero) for (const lg of t.loggers) await lg.finalize(status);
    t.loggersReady = false;
    if (t.profiler && stage === 'fit' && !t.barebones) process.stderr.write(`${t.profiler.report()}\n`);
  }
}

/** Once per setup: a second call, or one with nothing set up, does nothing. */
async function teardownStrategy(t: Trainer, raise: boolean): Promise<void> {
  if (!t.strategyReady) return;
  t.strategyReady = false;
  try {
    await t.strategy.teardown();
  } catch (err) {
    const msg = `strategy '${t.strategy.name}' teardown failed: ${(err as Error)?.message ?? err}`;
    if (raise) throw new Error(msg, { cause: err });
    // the run already failed: its own error is the one to report
    process.stderr.write(`kiln: ${msg}\n`);
  }
}

/** DDP is loaded on first use: a single-process run never opens its sockets or SIMD module. */
async function loadDdpStrategy() {
  const { createDdpStrategy } = await import('../strategies/ddp.js');
  return createDdpStrategy();
}

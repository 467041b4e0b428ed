import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo } from '../backend/index.js';
import { explainKernelError, selectBackend } from '../backend/index.js';
import type { Callback } from '../callbacks/callback.js';
import { readCheckpointFile, writeCheckpointFile } from '../checkpoint/format.js';
import type { CheckpointState } from '../checkpoint/state.js';
import type { Module, StepOutput } from '../core/module.js';
import { getGlobalRng, seedEverything } from '../core/rng.js';
import { DataLoader } from '../data/dataloader.js';
import type { DataModule, Stage } from '../data/datamodule.js';
import type { Batch } from '../data/dataset.js';
import { CSVLogger } from '../loggers/csv.js';
import type { CheckpointInfo, Logger, RunStatus } from '../loggers/logger.js';
import { PlatformLogger, platformLoggerFromEnv } from '../loggers/platform.js';
import { type ResolvedScheduler, resolveOptimizers } from '../optim/config.js';
import { type PrecisionPlan, resolvePrecision } from '../precision/support.js';
import { SingleDeviceStrategy } from '../strategies/single.js';
import type { Strategy } from '../strategies/strategy.js';
import {
  emptyState,
  restoreOptimizers,
  restoreWeights,
  saveOptimizers,
  saveWeights,
} from './checkpointing.js';
import { clipGradients } from './clip.js';
import { withDefaultCallbacks } from './defaults.js';
import { MetricsCollector } from './metrics.js';
import { parseMaxTime, type TrainerOptions, validateTrainerOptions } from './options.js';
import { SimpleProfiler } from './profiler.js';

/** What `fit`/`validate`/`test`/`predict` take as data: a DataModule or loaders. */
export type DataSource =
  | DataModule
  | DataLoader
  | { train?: DataLoader; val?: DataLoader; test?: DataLoader; predict?: DataLoader };

export interface RunOptions {
  /** 'last', 'best' or a path: where to resume from (fit) or which weights to evaluate */
  ckptPath?: 'last' | 'best' | string | null;
}

/** How the last fit ended. `preempted`: SIGTERM, checkpoint saved, exit code 143 (retryable). */
export type TrainerStatus = 'idle' | 'running' | 'finished' | 'stopped' | 'preempted' | 'failed';

/** Thrown (and turned into a clear message) when a trainingStep gives no usable loss. */
export class TrainingStepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingStepError';
  }
}

const YIELD_EVERY_MS = 50;

const RESOLVED_DEFAULTS = {
  accelerator: 'auto',
  backend: 'auto',
  minEpochs: 0,
  maxSteps: -1,
  minSteps: 0,
  numSanityValSteps: 2,
  logEveryNSteps: 50,
  accumulateGradBatches: 1,
  gradientClipAlgorithm: 'norm',
  deterministic: false,
  enableCheckpointing: true,
  enableProgressBar: true,
  enableModelSummary: true,
  barebones: false,
  valCheckInterval: 1,
  checkValEveryNEpoch: 1,
  detectAnomaly: false,
} as const;

/**
 * Runs a Module's loops: fit (train + periodic validation), validate, test, predict. Every step runs in
 * its own tensor scope, so the live tensor count after N steps equals that after one.
 */
export class Trainer {
  readonly options: TrainerOptions;
  readonly callbacks: Callback[];
  readonly loggers: Logger[];
  readonly profiler: SimpleProfiler | null;
  readonly metrics = new MetricsCollector();
  strategy: Strategy;
  backend: BackendInfo | null = null;
  /** what `precision` resolved to on the active backend */
  precision: PrecisionPlan | null = null;
  status: TrainerStatus = 'idle';
  /** set by PreemptionHandler: fit exits the process with this code after a preemption save */
  preemptExitCode: number | null = null;
  /** set by PreemptionHandler on SIGTERM; acted on at the next optimizer-step boundary (on every rank) */
  preemptRequested = false;
  /** set by callbacks (EarlyStopping, Timer, preemption) to end fit after the current step */
  shouldStop = false;
  stopReason: string | null = null;
  /** true while the loop runs the sanity validation before training */
  sanityChecking = false;
  module: Module | null = null;
  trainLoader: DataLoader | null = null;
  valLoader: DataLoader | null = null;
  /** training batches in the current epoch (after limits) */
  numTrainBatches = 0;
  /** the loop position; saved in and restored from checkpoints */
  loop = emptyState().loop;
  /** path of the checkpoint loaded by the last call, if any */
  loadedCheckpointPath: string | null = null;
  /** the newest checkpoint this process wrote (rank 0), with when it was written */
  lastCheckpoint: (CheckpointInfo & { time: string }) | null = null;
  readonly maxEpochs: number;
  readonly maxSteps: number;
  readonly maxTimeSeconds: number | null;
  readonly defaultRootDir: string;
  private optimizersList: tf.Optimizer[] = [];
  private schedulerList: ResolvedScheduler[] = [];
  private accGrads: tf.NamedTensorMap | null = null;
  private datamodule: DataModule | null = null;
  private loggersReady = false;
  private strategyReady = false;
  private readonly fastDevRunBatches: number;
  private lastYield = performance.now();

  constructor(options: TrainerOptions = {}) {
    this.options = validateTrainerOptions(options);
    const o = this.options;
    this.fastDevRunBatches =
      o.fastDevRun === true ? 1 : o.fastDevRun === false || o.fastDevRun === undefined ? 0 : o.fastDevRun;
    this.maxSteps = this.fastDevRunBatches > 0 ? this.fastDevRunBatches : (o.maxSteps ?? -1);
    this.maxEpochs =
      this.fastDevRunBatches > 0
        ? 1
        : (o.maxEpochs ?? (o.maxSteps !== undefined && o.maxSteps >= 0 ? -1 : 1000));
    this.maxTimeSeconds = parseMaxTime(o.maxTime);
    this.defaultRootDir = resolve(o.defaultRootDir ?? 'kiln_logs');
    this.profiler = o.profiler === 'simple' ? new SimpleProfiler() : null;
    this.strategy = typeof o.strategy === 'object' ? o.strategy : new SingleDeviceStrategy();
    const bare = o.barebones === true;
    const quiet = bare || this.fastDevRunBatches > 0;
    // like Lightning, a run logs somewhere by default: metrics.csv under <defaultRootDir>/default/version_<n>
    this.loggers =
      quiet || o.logger === false
        ? []
        : o.logger === undefined
          ? [new CSVLogger()]
          : Array.isArray(o.logger)
            ? o.logger
            : [o.logger];
    // The platform logger joins whenever KILN_TRACKING_URL is set (a pod, or `kiln fit` against the API).
    const platform =
      quiet || this.loggers.some((l) => l instanceof PlatformLogger) ? undefined : platformLoggerFromEnv();
    if (platform) this.loggers = [...this.loggers, platform];
    const user = o.callbacks ?? [];
    if (bare && user.length > 0)
      throw new Error('barebones: true runs no callbacks; remove "callbacks" or barebones');
    this.callbacks = bare ? [] : withDefaultCallbacks(this, user);
    const keys = new Set<string>();
    for (const cb of this.callbacks) {
      if (keys.has(cb.stateKey)) {
        throw new Error(`two callbacks share the state key "${cb.stateKey}"; give one a distinct stateKey`);
      }
      keys.add(cb.stateKey);
    }
  }

  // ---- read-only views ----
  get globalStep(): number {
    return this.loop.globalStep;
  }
  get currentEpoch(): number {
    return this.loop.epoch;
  }
  get callbackMetrics(): Record<string, number> {
    return this.metrics.callbackMetrics;
  }
  get isGlobalZero(): boolean {
    return this.strategy.isGlobalZero;
  }
  get barebones(): boolean {
    return this.options.barebones === true;
  }
  get fastDevRun(): number {
    return this.fastDevRunBatches;
  }
  get accumulateGradBatches(): number {
    return this.options.accumulateGradBatches ?? RESOLVED_DEFAULTS.accumulateGradBatches;
  }
  /** where checkpoints go: the first ModelCheckpoint's dirpath, else $KILN_CHECKPOINT_DIR, else <root>/checkpoints */
  get checkpointDir(): string {
    for (const cb of this.callbacks) {
      const dir = (cb as { dirpath?: unknown }).dirpath;
      if (typeof dir === 'string') return dir;
    }
    return process.env.KILN_CHECKPOINT_DIR
      ? resolve(process.env.KILN_CHECKPOINT_DIR)
      : join(this.defaultRootDir, 'checkpoints');
  }
  /** @internal */
  _optimizers(): tf.Optimizer[] {
    return this.optimizersList;
  }
  /** @internal */
  _schedulers(): ResolvedScheduler[] {
    return this.schedulerList;
  }

  // ---- public entry points ----
  async fit(module: Module, data?: DataSource, opts: RunOptions = {}): Promise<void> {
    await this.run('fit', module, data, async () => {
      const train = this.loaderFor('train', data);
      if (!train)
        throw new Error(
          'fit needs training data: a DataModule with trainDataloader() or { train: DataLoader }',
        );
      let val = this.loaderFor('val', data);
      const overfit = this.options.overfitBatches ?? 0;
      let trainLoader = train;
      if (overfit > 0) {
        // the same first batches, in order, for training and validation
        trainLoader = new DataLoader(train.dataset, {
          batchSize: train.batchSize,
          dropLast: train.dropLast,
          collate: train.collate,
        });
        val = trainLoader;
      }
      this.trainLoader = trainLoader;
      this.valLoader = val;
      for (const l of [trainLoader, val]) l?.setShard((idx, epoch) => this.strategy.shardIndices(idx, epoch));
      this.configureOptimizers(module);
      this.loop = emptyState().loop;
      this.metrics.resetEpoch('train');
      const ckpt = await this.resolveCheckpoint(opts.ckptPath);
      if (ckpt) await this.restore(module, ckpt.state, ckpt.path, 'full');
      // every variable, not only trainable ones: normalization statistics must match across ranks too
      await this.strategy.broadcastVariables(module.namedVariables().map((v) => v.variable));
      await this.hook('onFitStart', module);
      if (val && !ckpt && !this.barebones && this.fastDevRunBatches === 0)
        await this.sanityCheck(module, val);
      await this.hook('onTrainStart', module);
      await this.fitLoop(module);
      await this.hook('onTrainEnd', module);
      await this.hook('onFitEnd', module);
    });
    if (this.status === 'preempted' && this.preemptExitCode !== null) process.exit(this.preemptExitCode);
  }

  async validate(module: Module, data?: DataSource, opts: RunOptions = {}): Promise<Record<string, number>> {
    return this.run('validate', module, data, async () => {
      const loader = this.loaderFor('val', data);
      if (!loader)
        throw new Error('validate needs data: a DataModule with valDataloader() or { val: DataLoader }');
      await this.loadWeightsFor(module, opts.ckptPath);
      return this.evalLoop(module, 'validate', loader, this.options.limitValBatches);
    });
  }

  async test(module: Module, data?: DataSource, opts: RunOptions = {}): Promise<Record<string, number>> {
    return this.run('test', module, data, async () => {
      const loader = this.loaderFor('test', data);
      if (!loader)
        throw new Error('test needs data: a DataModule with testDataloader() or { test: DataLoader }');
      await this.loadWeightsFor(module, opts.ckptPath);
      return this.evalLoop(module, 'test', loader, this.options.limitTestBatches);
    });
  }

  /** predictStep outputs, one per batch; the caller owns (and disposes) returned tensors. */
  async predict(module: Module, data?: DataSource, opts: RunOptions = {}): Promise<unknown[]> {
    return this.run('predict', module, data, async () => {
      const loader = this.loaderFor('predict', data);
      if (!loader)
        throw new Error(
          'predict needs data: a DataModule with predictDataloader() or { predict: DataLoader }',
        );
      if (!module.predictStep)
        throw new Error(`${module.constructor.name} has no predictStep(batch, batchIdx)`);
      await this.loadWeightsFor(module, opts.ckptPath);
      await module.onPredictStart();
      for (const cb of this.callbacks) await cb.onPredictStart(this, module);
      const out: unknown[] = [];
      const order = loader.epochIndices(0);
      const n = this.limitBatches(this.options.limitPredictBatches, loader.batchCount(order.length));
      for (let i = 0; i < n; i++) {
        let ended = false;
        const r = tf.tidy(() => {
          const batch = loader.batchAt(order, i);
          if (!batch) {
            ended = true;
            return undefined;
          }
          return module.predictStep!(batch, i) as tf.TensorContainer;
        });
        if (ended) break;
        out.push(r);
      }
      await module.onPredictEnd();
      for (const cb of this.callbacks) await cb.onPredictEnd(this, module);
      return out;
    });
  }

  /** Saves the full training state to `path` (atomically). Only rank 0 writes; other ranks return null. */
  async saveCheckpoint(
    path: string,
    info: { isBest?: boolean; isLast?: boolean } = {},
  ): Promise<CheckpointInfo | null> {
    const module = this.module;
    if (!module) throw new Error('saveCheckpoint needs a module attached by fit()');
    let result: CheckpointInfo | null = null;
    if (this.isGlobalZero) {
      this.profiler?.start('saveCheckpoint');
      const state = await this.captureState(module);
      const { sizeBytes, sha256 } = await writeCheckpointFile(path, state);
      result = {
        path,
        step: this.loop.globalStep,
        epoch: this.loop.epoch,
        sizeBytes,
        sha256,
        metrics: { ...this.metrics.callbackMetrics },
        isBest: info.isBest ?? false,
        isLast: info.isLast ?? false,
      };
      this.lastCheckpoint = { ...result, time: new Date().toISOString() };
      for (const lg of this.loggers) await lg.logCheckpoint?.(result);
      this.profiler?.stop('saveCheckpoint');
    }
    // no barrier: ranks may decide differently whether to save (unsynced metrics); only rank 0 writes
    return result;
  }

  // ---- the stage wrapper ----
  private async run<T>(
    stage: Stage,
    module: Module,
    data: DataSource | undefined,
    body: () => Promise<T>,
  ): Promise<T> {
    if (module === null || typeof module !== 'object' || typeof module.trainingStep !== 'function') {
      throw new Error(`${stage} needs a Module (a class extending Module), got ${typeof module}`);
    }
    this.module = module;
    module._trainer = this;
    this.status = 'running';
    this.preemptRequested = false;
    this.shouldStop = false;
    this.stopReason = null;
    const o = this.options;
    this.backend = await selectBackend({
      accelerator: o.accelerator ?? RESOLVED_DEFAULTS.accelerator,
      backend: o.backend ?? RESOLVED_DEFAULTS.backend,
      intraOpThreads: o.intraOpThreads,
      interOpThreads: o.interOpThreads,
    });
    // half precision is refused with the reason when the backend cannot hold 16-bit tensors
    this.precision = resolvePrecision(o.precision, this.backend.name);
    if (o.seed !== undefined || o.deterministic) seedEverything(o.seed ?? 0);
    // From setup on, the strategy is torn down when this call ends, however it ends (success, error,
    // early stop, preemption); the next fit/validate/test/predict sets it up again.
    let ok = false;
    try {
      const result = await this.runSetUp(stage, module, data, body);
      ok = true;
      return result;
    } finally {
      await this.teardownStrategy(ok);
    }
  }

  private async runSetUp<T>(
    stage: Stage,
    module: Module,
    data: DataSource | undefined,
    body: () => Promise<T>,
  ): Promise<T> {
    const o = this.options;
    const backend = this.backend!;
    if (!this.strategyReady) {
      if (
        o.strategy === 'ddp' ||
        ((o.strategy === undefined || o.strategy === 'auto') && Number(process.env.WORLD_SIZE ?? 1) > 1)
      ) {
        this.strategy = await loadDdpStrategy();
      }
      this.strategyReady = true; // set before setup: a setup that fails half-way is torn down too
      await this.strategy.setup();
    }
    const wanted = typeof o.devices === 'number' ? o.devices * (o.numNodes ?? 1) : 1;
    if (wanted > this.strategy.worldSize) {
      throw new Error(
        `devices: ${o.devices}${o.numNodes ? ` × numNodes: ${o.numNodes}` : ''} asks for ${wanted} processes but this one runs alone ` +
          '(no WORLD_SIZE in the environment): start it with `kiln fit <script> --devices N`, which launches the ranks',
      );
    }
    if (!this.loggersReady && this.isGlobalZero) {
      // one context object for all loggers: file loggers then share one version_<n> folder
      const loggerCtx = { defaultRootDir: this.defaultRootDir, isGlobalZero: true };
      for (const lg of this.loggers) await lg.setup?.(loggerCtx);
      if (Object.keys(module.hparams).length)
        for (const lg of this.loggers) await lg.logHyperparams(module.hparams);
      this.loggersReady = true;
    }
    const dm = isDataModule(data) ? data : null;
    this.datamodule = dm;
    if (dm) {
      if (this.strategy.localRank === 0) await dm.prepareData();
      await this.strategy.barrier('prepareData');
      await dm.setup(stage);
    }
    for (const cb of this.callbacks) await cb.setup(this, module, stage);
    module._logSink = this.barebones ? null : this.metrics;
    let status: RunStatus = 'success';
    try {
      const result = await body();
      const st = this.status as TrainerStatus;
      this.status = st === 'preempted' ? 'preempted' : this.shouldStop ? 'stopped' : 'finished';
      if (st === 'preempted') status = 'interrupted';
      return result;
    } catch (err) {
      status = 'failed';
      this.status = 'failed';
      const explained = explainKernelError(err, backend.name);
      for (const cb of this.callbacks) await cb.onException(this, module, explained);
      throw explained;
    } finally {
      this.disposeAccumulated();
      module._logSink = null;
      for (const cb of this.callbacks) await cb.teardown(this, module, stage);
      if (dm) await dm.teardown(stage);
      if (this.isGlobalZero) for (const lg of this.loggers) await lg.finalize(status);
      this.loggersReady = false;
      if (this.profiler && stage === 'fit' && !this.barebones)
        process.stderr.write(`${this.profiler.report()}\n`);
    }
  }

  /** Once per setup: a second call, or one with nothing set up, does nothing. */
  private async teardownStrategy(raise: boolean): Promise<void> {
    if (!this.strategyReady) return;
    this.strategyReady = false;
    try {
      await this.strategy.teardown();
    } catch (err) {
      const msg = `strategy '${this.strategy.name}' teardown failed: ${(err as Error)?.message ?? err}`;
      if (raise) throw new Error(msg, { cause: err });
      // the run already failed: its own error is the one to report
      process.stderr.write(`kiln: ${msg}\n`);
    }
  }

  private loaderFor(
    kind: 'train' | 'val' | 'test' | 'predict',
    data: DataSource | undefined,
  ): DataLoader | null {
    if (data === undefined || data === null) return null;
    if (data instanceof DataLoader)
      return kind === 'train' || kind === 'predict' || kind === 'test' || kind === 'val' ? data : null;
    if (isDataModule(data)) {
      const fn = {
        train: data.trainDataloader,
        val: data.valDataloader,
        test: data.testDataloader,
        predict: data.predictDataloader,
      }[kind];
      if (!fn) return null;
      const l = fn.call(data);
      if (!(l instanceof DataLoader))
        throw new Error(`${data.constructor.name}.${kind}Dataloader() must return a DataLoader`);
      return l;
    }
    const known = new Set(['train', 'val', 'test', 'predict']);
    for (const k of Object.keys(data)) {
      if (!known.has(k)) throw new Error(`unknown data key "${k}" (expected train, val, test, predict)`);
    }
    const l = (data as Record<string, unknown>)[kind];
    if (l === undefined) return null;
    if (!(l instanceof DataLoader)) throw new Error(`data.${kind} must be a DataLoader`);
    return l;
  }

  private configureOptimizers(module: Module): void {
    const { optimizers, schedulers } = resolveOptimizers(module.configureOptimizers());
    if (module.automaticOptimization && optimizers.length > 1) {
      throw new Error(
        'more than one optimizer needs manual optimization: set automaticOptimization = false in the Module',
      );
    }
    if (module.parameters().length === 0) {
      throw new Error(
        `${module.constructor.name} has no trainable variables: keep layers/models/tf.Variables in fields, built (give the first layer an inputShape)`,
      );
    }
    this.optimizersList = optimizers;
    this.schedulerList = schedulers;
  }

  // ---- the fit loop ----
  private async fitLoop(module: Module): Promise<void> {
    const loader = this.trainLoader!;
    const loop = this.loop;
    const o = this.options;
    const minEpochs = o.minEpochs ?? 0;
    const minSteps = o.minSteps ?? 0;
    if (loop.epochFinished) {
      loop.epoch++;
      loop.batchPosition = 0;
      loop.epochFinished = false;
    }
    for (;;) {
      if (this.maxEpochs >= 0 && loop.epoch >= this.maxEpochs) break;
      if (this.maxSteps >= 0 && loop.globalStep >= this.maxSteps) break;
      if (this.shouldStop && loop.epoch >= minEpochs && loop.globalStep >= minSteps) break;
      this.shouldStop = false;
      loader.setEpoch(loop.epoch);
      this.numTrainBatches = this.limitBatches(
        this.fastDevRunBatches || o.overfitBatches || o.limitTrainBatches,
        loader.length,
        this.fastDevRunBatches > 0,
      );
      await this.trainEpoch(module);
      if (this.status === 'preempted') return;
      if (this.shouldStop && (loop.epoch + 1 < minEpochs || loop.globalStep < minSteps)) {
        this.shouldStop = false; // keep going until the minimums are met
      }
      loop.epoch++;
      loop.batchPosition = 0;
      loop.epochFinished = false;
      if (this.shouldStop) break;
    }
  }

  private async trainEpoch(module: Module): Promise<void> {
    const loader = this.trainLoader!;
    const loop = this.loop;
    const prof = this.profiler;
    const n = this.numTrainBatches;
    const accum = this.accumulateGradBatches;
    const bare = this.barebones;
    const valEvery = this.valCheckBatches(n);
    const valThisEpoch =
      this.valLoader !== null && (loop.epoch + 1) % (this.options.checkValEveryNEpoch ?? 1) === 0;
    module.training = true;
    this.metrics.kind = 'train';
    if (!bare) {
      await module.onTrainEpochStart();
      for (const cb of this.callbacks) await cb.onTrainEpochStart(this, module);
    }
    const params = module.parameters();
    const engine = tf.engine();
    loader.beginEpoch();
    for (let batchIdx = loop.batchPosition; batchIdx < n; batchIdx++) {
      const isLast = batchIdx + 1 === n;
      const stepEnd = (batchIdx + 1) % accum === 0 || isLast;
      let loss: number | null = null;
      let endEpoch = false;
      engine.startScope();
      try {
        prof?.start('getTrainBatch');
        const batch = loader.nextBatch();
        prof?.stop('getTrainBatch');
        if (!batch) break;
        if (!bare) {
          this.metrics.batchSize = batchSizeOf(batch);
          if (module.onTrainBatchStart(batch, batchIdx) === -1) endEpoch = true;
          for (const cb of this.callbacks) await cb.onTrainBatchStart(this, module, batch, batchIdx);
        }
        if (!endEpoch) {
          if (module.automaticOptimization) {
            prof?.start('trainingStep+backward');
            const { value, grads } = tf.variableGrads(() => {
              const out = module.trainingStep(batch, batchIdx);
              const l = extractLoss(out, module, batchIdx);
              return (accum > 1 ? tf.div(l, accum) : l) as tf.Scalar;
            }, params);
            prof?.stop('trainingStep+backward');
            if (!bare) {
              loss = value.dataSync()[0]! * accum;
              if (this.options.detectAnomaly && !Number.isFinite(loss)) {
                throw new TrainingStepError(
                  `trainingStep returned a non-finite loss (${loss}) at epoch ${loop.epoch}, batch ${batchIdx}, global step ${loop.globalStep} (detectAnomaly)`,
                );
              }
            }
            if (accum > 1) this.accumulate(grads);
            if (stepEnd) {
              const g = accum > 1 ? this.takeAccumulated() : grads;
              await this._optimizerStep(g, 0);
            }
          } else {
            prof?.start('trainingStep');
            const out = await module.trainingStep(batch, batchIdx);
            prof?.stop('trainingStep');
            if (!bare && out !== undefined && out !== null) {
              const l = out instanceof tf.Tensor ? out : (out as { loss?: unknown }).loss;
              if (l instanceof tf.Tensor) loss = l.dataSync()[0]!;
            }
          }
        }
      } catch (err) {
        releaseTape();
        throw err;
      } finally {
        engine.endScope();
      }
      loop.batchPosition = batchIdx + 1;
      if (endEpoch) break;
      if (!bare) {
        if (stepEnd) {
          prof?.start('afterOptimizerStep');
          await this.afterOptimizerStep();
          prof?.stop('afterOptimizerStep');
        }
        prof?.start('Module.onTrainBatchEnd');
        module.onTrainBatchEnd({ loss }, batchIdx);
        prof?.stop('Module.onTrainBatchEnd');
        for (const cb of this.callbacks) {
          prof?.start(`${cb.constructor.name}.onTrainBatchEnd`);
          await cb.onTrainBatchEnd(this, module, { loss }, batchIdx);
          prof?.stop(`${cb.constructor.name}.onTrainBatchEnd`);
        }
        if (stepEnd && this.strategy.worldSize > 1) {
          prof?.start('syncStopFlags');
          await this.syncStopFlags();
          prof?.stop('syncStopFlags');
        }
        if (stepEnd && this.preemptRequested) await this.preempt();
        if (
          valThisEpoch &&
          (valEvery.interval > 0 ? (batchIdx + 1) % valEvery.interval === 0 : false) &&
          !isLast
        ) {
          await this.runValidation(module);
        }
      }
      if (performance.now() - this.lastYield > YIELD_EVERY_MS) await this.yieldToEventLoop();
      if (this.status === 'preempted') return;
      if (this.maxSteps >= 0 && loop.globalStep >= this.maxSteps) {
        this.shouldStop = true;
        break;
      }
      if (this.shouldStop && stepEnd) break;
    }
    if (bare) return;
    const finishedAll = loop.batchPosition >= n;
    if (valThisEpoch && (finishedAll || this.shouldStop) && valEvery.atEnd) await this.runValidation(module);
    module.training = true;
    this.metrics.kind = 'train';
    const epochLogs = await this.metrics.endEpoch('train', (v, op) => this.strategy.reduceNumbers(v, op));
    for (const s of this.schedulerList) {
      if (s.interval === 'epoch' && (loop.epoch + 1) % s.frequency === 0) this.stepScheduler(s);
    }
    loop.epochFinished = true;
    await this.logToLoggers({ ...epochLogs, epoch: loop.epoch });
    prof?.start('Module.onTrainEpochEnd');
    await module.onTrainEpochEnd();
    prof?.stop('Module.onTrainEpochEnd');
    for (const cb of this.callbacks) {
      prof?.start(`${cb.constructor.name}.onTrainEpochEnd`);
      await cb.onTrainEpochEnd(this, module);
      prof?.stop(`${cb.constructor.name}.onTrainEpochEnd`);
    }
  }

  /** true between optimizer steps: no gradients are half-accumulated, so a checkpoint is complete */
  get atOptimizerStepBoundary(): boolean {
    const p = this.loop.batchPosition;
    return p % this.accumulateGradBatches === 0 || p >= this.numTrainBatches;
  }

  /** DDP: a stop or preemption on any rank stops every rank at the same step, so none waits forever. */
  private async syncStopFlags(): Promise<void> {
    const [stop, preempt] = await this.strategy.reduceNumbers(
      [this.shouldStop ? 1 : 0, this.preemptRequested ? 1 : 0],
      'max',
    );
    if (stop && !this.shouldStop) {
      this.shouldStop = true;
      this.stopReason ??= 'another rank stopped';
    }
    if (preempt) this.preemptRequested = true;
  }

  /** Saves last.ckpt (rank 0 writes) and ends fit; `fit` then exits with the handler's code. */
  private async preempt(): Promise<void> {
    await this.saveCheckpoint(join(this.checkpointDir, 'last.ckpt'), { isLast: true });
    this.status = 'preempted';
    this.shouldStop = true;
    this.stopReason = 'preempted (SIGTERM); checkpoint saved';
  }

  /**
   * The loop only awaits settled promises, which never lets timers, sockets or signal handlers (SIGTERM)
   * run; a macrotask turn every YIELD_EVERY_MS keeps them alive at no measurable cost.
   */
  private async yieldToEventLoop(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    this.lastYield = performance.now();
  }

  /** after every optimizer step when not barebones: step logging and step-interval bookkeeping */
  private async afterOptimizerStep(): Promise<void> {
    const every = this.options.logEveryNSteps ?? RESOLVED_DEFAULTS.logEveryNSteps;
    if (this.loop.globalStep % every === 0) {
      const logs = this.metrics.takeStepLogs();
      if (Object.keys(logs).length) await this.logToLoggers({ ...logs, epoch: this.loop.epoch });
      if (this.isGlobalZero) {
        const progress = {
          step: this.loop.globalStep,
          totalSteps: this.estimatedTotalSteps(),
          epoch: this.loop.epoch,
          etaSeconds: null,
          metrics: { ...this.metrics.callbackMetrics },
        };
        for (const lg of this.loggers) await lg.logProgress?.(progress);
      }
    }
  }

  /** total optimizer steps the run will take if nothing stops it early (null when unbounded) */
  estimatedTotalSteps(): number | null {
    const perEpoch = Math.ceil(this.numTrainBatches / this.accumulateGradBatches);
    const byEpochs = this.maxEpochs >= 0 ? perEpoch * this.maxEpochs : null;
    if (this.maxSteps >= 0) return byEpochs === null ? this.maxSteps : Math.min(this.maxSteps, byEpochs);
    return byEpochs;
  }

  /**
   * One optimizer step: all-reduce (DDP), onBeforeOptimizerStep hooks, clipping, apply; disposes `grads`.
   * @internal used by the loop and by Module.manualStep
   */
  async _optimizerStep(grads: tf.NamedTensorMap, optimizerIndex: number): Promise<void> {
    const opt = this.optimizersList[optimizerIndex];
    if (!opt)
      throw new Error(
        `no optimizer ${optimizerIndex}: configureOptimizers() made ${this.optimizersList.length}`,
      );
    const prof = this.profiler;
    let g = grads;
    if (this.strategy.worldSize > 1) {
      prof?.start('allReduceGradients');
      g = await this.strategy.allReduceGradients(grads);
      prof?.stop('allReduceGradients');
      disposeReplaced(grads, g);
    }
    if (!this.barebones && this.module) {
      this.module.onBeforeOptimizerStep(opt, g);
      for (const cb of this.callbacks) cb.onBeforeOptimizerStep(this, this.module, opt);
    }
    const clip = this.options.gradientClipVal;
    if (clip !== undefined && clip !== null) {
      const clipped = clipGradients(g, clip, this.options.gradientClipAlgorithm ?? 'norm');
      tf.dispose(Object.values(g));
      g = clipped;
    }
    prof?.start('optimizerStep');
    opt.applyGradients(g);
    prof?.stop('optimizerStep');
    tf.dispose(Object.values(g));
    this.loop.globalStep++;
    for (const s of this.schedulerList) {
      if (
        s.optimizerIndex === optimizerIndex &&
        s.interval === 'step' &&
        this.loop.globalStep % s.frequency === 0
      ) {
        this.stepScheduler(s);
      }
    }
  }

  private stepScheduler(s: ResolvedScheduler): void {
    if (s.monitor) {
      const v = this.metrics.callbackMetrics[s.monitor];
      if (v === undefined) {
        if (s.strict) {
          throw new Error(
            `lrScheduler monitors "${s.monitor}" but no such metric was logged (logged: ${Object.keys(this.metrics.callbackMetrics).join(', ') || 'none'})`,
          );
        }
        return;
      }
      s.scheduler.step(v);
    } else s.scheduler.step();
  }

  private accumulate(grads: tf.NamedTensorMap): void {
    if (!this.accGrads) {
      this.accGrads = {};
      for (const [k, g] of Object.entries(grads)) this.accGrads[k] = tf.keep(g);
      return;
    }
    for (const [k, g] of Object.entries(grads)) {
      const prev = this.accGrads[k];
      this.accGrads[k] = tf.keep(prev ? tf.add(prev, g) : g);
      prev?.dispose();
    }
  }

  private takeAccumulated(): tf.NamedTensorMap {
    const g = this.accGrads ?? {};
    this.accGrads = null;
    return g;
  }

  private disposeAccumulated(): void {
    if (this.accGrads) tf.dispose(Object.values(this.accGrads));
    this.accGrads = null;
  }

  private valCheckBatches(n: number): { interval: number; atEnd: boolean } {
    const v = this.options.valCheckInterval ?? 1;
    if (v <= 1) {
      const every = v >= 1 ? 0 : Math.max(1, Math.floor(n * v));
      return { interval: every, atEnd: true };
    }
    return { interval: v, atEnd: n % v === 0 };
  }

  // ---- validation / test ----
  private async runValidation(module: Module): Promise<void> {
    const loader = this.valLoader!;
    const limit = this.fastDevRunBatches || this.options.overfitBatches || this.options.limitValBatches;
    await this.evalLoop(module, 'validate', loader, limit, this.fastDevRunBatches > 0);
    module.training = true;
    this.metrics.kind = 'train';
  }

  private async sanityCheck(module: Module, loader: DataLoader): Promise<void> {
    const steps = this.options.numSanityValSteps ?? RESOLVED_DEFAULTS.numSanityValSteps;
    if (steps === 0 || !module.validationStep) return;
    this.sanityChecking = true;
    const saved = { ...this.metrics.callbackMetrics };
    try {
      await this.evalLoop(module, 'validate', loader, steps < 0 ? undefined : steps, true);
    } finally {
      this.sanityChecking = false;
      for (const k of Object.keys(this.metrics.callbackMetrics)) delete this.metrics.callbackMetrics[k];
      Object.assign(this.metrics.callbackMetrics, saved);
    }
  }

  private async evalLoop(
    module: Module,
    kind: 'validate' | 'test',
    loader: DataLoader,
    limit: number | undefined,
    limitIsCount = false,
  ): Promise<Record<string, number>> {
    const step = kind === 'validate' ? module.validationStep : module.testStep;
    if (!step) {
      if (kind === 'test') throw new Error(`${module.constructor.name} has no testStep(batch, batchIdx)`);
      return {};
    }
    const sanity = this.sanityChecking;
    const hooks = !sanity && !this.barebones;
    module.training = false;
    this.metrics.kind = kind;
    this.metrics.resetEpoch(kind);
    if (hooks) {
      if (kind === 'validate') {
        await module.onValidationStart();
        for (const cb of this.callbacks) await cb.onValidationStart(this, module);
        await module.onValidationEpochStart();
      } else {
        await module.onTestStart();
        for (const cb of this.callbacks) await cb.onTestStart(this, module);
        await module.onTestEpochStart();
      }
    }
    // read by index: a loader shared with training (or overfitBatches) keeps its training position
    const order = loader.epochIndices(0);
    const n = this.limitBatches(
      this.fastDevRunBatches || limit,
      loader.batchCount(order.length),
      limitIsCount || this.fastDevRunBatches > 0,
    );
    for (let i = 0; i < n; i++) {
      const done = tf.tidy(() => {
        this.profiler?.start(`${kind}Step`);
        const batch = loader.batchAt(order, i);
        if (!batch) return true;
        this.metrics.batchSize = batchSizeOf(batch);
        step.call(module, batch, i);
        this.profiler?.stop(`${kind}Step`);
        return false;
      });
      if (done) break;
      if (hooks) {
        for (const cb of this.callbacks) {
          if (kind === 'validate') await cb.onValidationBatchEnd(this, module, i);
          else await cb.onTestBatchEnd(this, module, i);
        }
      }
    }
    const logs = await this.metrics.endEpoch(kind, (v, op) => this.strategy.reduceNumbers(v, op));
    if (hooks) {
      await this.logToLoggers({ ...logs, epoch: this.loop.epoch });
      if (kind === 'validate') {
        await module.onValidationEpochEnd();
        await module.onValidationEnd();
        for (const cb of this.callbacks) await cb.onValidationEnd(this, module);
      } else {
        await module.onTestEpochEnd();
        await module.onTestEnd();
        for (const cb of this.callbacks) await cb.onTestEnd(this, module);
      }
    }
    return logs;
  }

  private limitBatches(limit: number | undefined, n: number, isCount = false): number {
    if (limit === undefined) return n;
    if (limit === 0) return 0;
    if (isCount || limit > 1) return Math.min(n, Math.floor(limit));
    return Math.max(limit > 0 ? 1 : 0, Math.floor(n * limit));
  }

  private async logToLoggers(metrics: Record<string, number>): Promise<void> {
    if (!this.isGlobalZero || this.loggers.length === 0) return;
    const keys = Object.keys(metrics).filter((k) => k !== 'epoch');
    if (keys.length === 0) return;
    for (const lg of this.loggers) await lg.logMetrics(metrics, this.loop.globalStep);
  }

  // ---- hooks ----
  private async hook(
    name: 'onFitStart' | 'onFitEnd' | 'onTrainStart' | 'onTrainEnd',
    module: Module,
  ): Promise<void> {
    if (this.barebones) return;
    this.profiler?.start(name);
    await module[name]();
    for (const cb of this.callbacks) await cb[name](this, module);
    this.profiler?.stop(name);
  }

  // ---- checkpoints ----
  private async resolveCheckpoint(
    ckptPath: RunOptions['ckptPath'],
  ): Promise<{ path: string; state: CheckpointState } | null> {
    if (ckptPath === undefined || ckptPath === null) return null;
    if (typeof ckptPath !== 'string' || ckptPath.length === 0) {
      throw new Error(`ckptPath must be 'last', 'best' or a file path, got ${JSON.stringify(ckptPath)}`);
    }
    let path: string;
    if (ckptPath === 'last') {
      path = join(this.checkpointDir, 'last.ckpt');
      try {
        return { path, state: await readCheckpointFile(path) };
      } catch (err) {
        if ((err as Error).message.endsWith('no such file')) {
          process.stderr.write(
            `kiln: ckptPath 'last': no checkpoint at ${path} yet, starting from scratch\n`,
          );
          return null;
        }
        throw err;
      }
    }
    if (ckptPath === 'best') {
      const best = this.bestModelPath();
      if (!best)
        throw new Error(
          "ckptPath 'best' needs a ModelCheckpoint with a monitor that has saved a best checkpoint",
        );
      path = best;
    } else path = resolve(ckptPath);
    return { path, state: await readCheckpointFile(path) };
  }

  private bestModelPath(): string | null {
    for (const cb of this.callbacks) {
      const p = (cb as { bestModelPath?: unknown }).bestModelPath;
      if (typeof p === 'string' && p.length > 0) return p;
    }
    return null;
  }

  private async loadWeightsFor(module: Module, ckptPath: RunOptions['ckptPath']): Promise<void> {
    const ckpt = await this.resolveCheckpoint(ckptPath);
    if (ckpt) await this.restore(module, ckpt.state, ckpt.path, 'weights');
  }

  private async captureState(module: Module): Promise<CheckpointState> {
    const state = emptyState();
    state.weightNames = await saveWeights(module, state.tensors);
    state.optimizers = await saveOptimizers(this.optimizersList, state.tensors);
    state.schedulers = this.schedulerList.map((s) => s.scheduler.stateDict());
    state.loop = { ...this.loop, epochMetrics: this.loop.epochFinished ? {} : this.metrics.epochState() };
    state.hparams = { ...module.hparams };
    state.dataLoader = this.trainLoader?.state() ?? null;
    state.dataModule = this.datamodule?.stateDict?.() ?? null;
    state.rng = { global: getGlobalRng()?.getState() ?? null };
    state.metrics = { ...this.metrics.callbackMetrics };
    for (const cb of this.callbacks) {
      const s = cb.stateDict();
      if (s !== undefined) state.callbacks[cb.stateKey] = s;
    }
    module.onSaveCheckpoint(state);
    for (const cb of this.callbacks) cb.onSaveCheckpoint(this, module, state);
    return state;
  }

  private async restore(
    module: Module,
    state: CheckpointState,
    path: string,
    what: 'full' | 'weights',
  ): Promise<void> {
    restoreWeights(module, state, path);
    this.loadedCheckpointPath = path;
    if (what === 'weights') return;
    await restoreOptimizers(this.optimizersList, state, path);
    if (state.schedulers.length !== this.schedulerList.length) {
      throw new Error(
        `checkpoint ${path}: holds ${state.schedulers.length} LR scheduler(s) but configureOptimizers() made ${this.schedulerList.length}`,
      );
    }
    state.schedulers.forEach((s, i) => {
      this.schedulerList[i]!.scheduler.loadStateDict(s);
    });
    this.loop = { ...state.loop, epochMetrics: {} };
    this.metrics.loadEpochState(state.loop.epochMetrics ?? {});
    Object.assign(this.metrics.callbackMetrics, state.metrics);
    if (state.dataLoader && this.trainLoader) this.trainLoader.loadState(state.dataLoader);
    if (state.dataModule && this.datamodule?.loadStateDict) this.datamodule.loadStateDict(state.dataModule);
    if (state.rng.global) {
      if (!getGlobalRng()) seedEverything(0);
      getGlobalRng()!.setState(state.rng.global);
    }
    for (const cb of this.callbacks) {
      const s = state.callbacks[cb.stateKey];
      if (s !== undefined) cb.loadStateDict(s as Record<string, unknown>);
    }
    module.onLoadCheckpoint(state);
    for (const cb of this.callbacks) cb.onLoadCheckpoint(this, module, state);
  }
}

/**
 * A step that throws inside tf.variableGrads leaves the gradient tape's saved tensors alive (tfjs only
 * frees them after a successful backward pass); free them so a caught error leaks nothing.
 */
function releaseTape(): void {
  const state = (
    tf.engine() as unknown as {
      state: { activeTape: { saved?: tf.Tensor[] }[] | null; gradientDepth: number };
    }
  ).state;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) if (node.saved) tf.dispose(node.saved);
  state.activeTape = null;
}

function isDataModule(x: unknown): x is DataModule {
  return (
    x !== null &&
    typeof x === 'object' &&
    !(x instanceof DataLoader) &&
    typeof (x as DataModule).setup === 'function' &&
    typeof (x as DataModule).prepareData === 'function'
  );
}

function extractLoss(out: StepOutput | Promise<StepOutput>, module: Module, batchIdx: number): tf.Tensor {
  const where = `${module.constructor.name}.trainingStep (batch ${batchIdx})`;
  if (out instanceof Promise) {
    throw new TrainingStepError(
      `${where} returned a Promise: with automatic optimization trainingStep must be synchronous`,
    );
  }
  const loss =
    out instanceof tf.Tensor
      ? out
      : out && typeof out === 'object'
        ? (out as { loss?: unknown }).loss
        : undefined;
  if (!(loss instanceof tf.Tensor)) {
    throw new TrainingStepError(
      `${where} returned ${out === undefined ? 'nothing' : describe(out)}; it must return the loss (a scalar tensor) or { loss }. ` +
        'To drive the optimizer yourself set automaticOptimization = false.',
    );
  }
  if (loss.size !== 1)
    throw new TrainingStepError(`${where}: the loss must be a scalar, got shape [${loss.shape}]`);
  return loss.size === 1 && loss.rank > 0 ? loss.reshape([]) : loss;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object')
    return `an object without a "loss" tensor (keys: ${Object.keys(x as object).join(', ') || 'none'})`;
  return `${typeof x} ${String(x)}`;
}

function batchSizeOf(batch: Batch): number {
  const first =
    batch instanceof tf.Tensor ? batch : Array.isArray(batch) ? batch[0] : Object.values(batch)[0];
  return first?.shape[0] ?? 1;
}

function disposeReplaced(before: tf.NamedTensorMap, after: tf.NamedTensorMap): void {
  const keep = new Set(Object.values(after).map((t) => t.id));
  for (const t of Object.values(before)) if (!keep.has(t.id)) t.dispose();
}

async function loadDdpStrategy(): Promise<Strategy> {
  const spec = '../strategies/ddp.js';
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`strategy 'ddp' is not available in this build: ${(err as Error).message}`);
  }
  const factory = mod.createDdpStrategy as (() => Strategy | Promise<Strategy>) | undefined;
  if (typeof factory === 'function') return factory();
  const Ctor = (mod.DDPStrategy ?? mod.DdpStrategy) as (new () => Strategy) | undefined;
  if (typeof Ctor === 'function') return new Ctor();
  throw new Error(
    "strategies/ddp.ts exports neither createDdpStrategy() nor DDPStrategy; cannot start strategy 'ddp'",
  );
}

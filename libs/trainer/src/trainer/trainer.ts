import { join, resolve } from 'node:path';
import { defaultCheckpointDir } from '@kiln/spec';
import type * as tf from '@tensorflow/tfjs';
import type { BackendInfo } from '../backend/index.js';
import type { Callback } from '../callbacks/callback.js';
import type { Module } from '../core/module.js';
import { DataLoader } from '../data/dataloader.js';
import type { DataModule, Stage } from '../data/datamodule.js';
import { CSVLogger } from '../loggers/csv.js';
import type { CheckpointInfo, Logger } from '../loggers/logger.js';
import { PlatformLogger, platformLoggerFromEnv } from '../loggers/platform.js';
import { HookDispatcher } from '../loops/call.js';
import { EvaluationLoop } from '../loops/evaluation-loop.js';
import { FitLoop } from '../loops/fit-loop.js';
import { Optimization } from '../loops/optimization.js';
import type { ResolvedScheduler } from '../optim/config.js';
import type { PrecisionPlan } from '../precision/support.js';
import { SingleDeviceStrategy } from '../strategies/single.js';
import type { Strategy } from '../strategies/strategy.js';
import { CheckpointConnector } from './checkpoint-connector.js';
import { type DataSource, loaderFor } from './data-source.js';
import { withDefaultCallbacks } from './defaults.js';
import { MetricsCollector } from './metrics.js';
import { type TrainerOptions, validateTrainerOptions } from './options.js';
import { SimpleProfiler } from './profiler.js';
import { type ResolvedOptions, resolveOptions } from './resolved-options.js';
import { runStage } from './stage.js';

export { TrainingStepError } from '../loops/optimization.js';
export type { DataSource } from './data-source.js';

export interface RunOptions {
  /** 'last', 'best' or a path: where to resume from (fit) or which weights to evaluate */
  ckptPath?: 'last' | 'best' | string | null;
}

/** How the last fit ended. `preempted`: SIGTERM, checkpoint saved, exit code 143 (retryable). */
export type TrainerStatus = 'idle' | 'running' | 'finished' | 'stopped' | 'preempted' | 'failed';

/**
 * Runs a Module's loops: fit (train + periodic validation), validate, test, predict. The loops live in
 * src/loops (fit → training epoch → optimization; evaluation), hooks go through one dispatcher, and
 * checkpoints through the connector; this class holds the run's state and the public API.
 */
export class Trainer {
  readonly options: TrainerOptions;
  /** the options with defaults applied, as the loops read them */
  readonly config: ResolvedOptions;
  readonly callbacks: Callback[];
  readonly loggers: Logger[];
  readonly profiler: SimpleProfiler | null;
  readonly metrics = new MetricsCollector();
  readonly hooks: HookDispatcher = new HookDispatcher(this);
  readonly fitLoop: FitLoop = new FitLoop(this);
  readonly evaluationLoop: EvaluationLoop = new EvaluationLoop(this);
  readonly optimization: Optimization = new Optimization(this);
  readonly checkpointConnector: CheckpointConnector = new CheckpointConnector(this);
  strategy: Strategy;
  backend: BackendInfo | null = null;
  /** what `precision` resolved to on the active backend */
  precision: PrecisionPlan | null = null;
  status: TrainerStatus = 'idle';
  /** the call running now (or last run): fit, validate, test or predict */
  stage: Stage | null = null;
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
  /** path of the checkpoint loaded by the last call, if any */
  loadedCheckpointPath: string | null = null;
  /** the newest checkpoint this process wrote (rank 0), with when it was written */
  lastCheckpoint: (CheckpointInfo & { time: string }) | null = null;
  /** @internal the DataModule of the running call */
  datamodule: DataModule | null = null;
  /** @internal */
  loggersReady = false;
  /** @internal */
  strategyReady = false;

  constructor(options: TrainerOptions = {}) {
    this.options = validateTrainerOptions(options);
    const c = resolveOptions(this.options);
    this.config = c;
    this.profiler = c.profiler === 'simple' ? new SimpleProfiler() : null;
    this.strategy = typeof c.strategy === 'object' ? c.strategy : new SingleDeviceStrategy();
    const quiet = c.barebones || c.fastDevRun > 0;
    // like Lightning, a run logs somewhere by default: metrics.csv under <defaultRootDir>/default/version_<n>
    this.loggers = quiet || c.logger === false ? [] : (c.logger ?? [new CSVLogger()]);
    // The platform logger joins whenever KILN_TRACKING_URL is set (a pod, or `kiln fit` against the API).
    const platform =
      quiet || this.loggers.some((l) => l instanceof PlatformLogger) ? undefined : platformLoggerFromEnv();
    if (platform) this.loggers = [...this.loggers, platform];
    if (c.barebones && c.callbacks.length > 0)
      throw new Error('barebones: true runs no callbacks; remove "callbacks" or barebones');
    this.callbacks = c.barebones ? [] : withDefaultCallbacks(this, c.callbacks);
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
    return this.fitLoop.state.globalStep;
  }
  /** the epoch running now; after a fit, the number of epochs run (one that a stop cut short counts) */
  get currentEpoch(): number {
    return this.fitLoop.state.epoch + (this.fitLoop.endedMidEpoch ? 1 : 0);
  }
  /** the loop position; saved in and restored from checkpoints */
  get loop() {
    return this.fitLoop.state;
  }
  get callbackMetrics(): Record<string, number> {
    return this.metrics.callbackMetrics;
  }
  get isGlobalZero(): boolean {
    return this.strategy.isGlobalZero;
  }
  get barebones(): boolean {
    return this.config.barebones;
  }
  get fastDevRun(): number {
    return this.config.fastDevRun;
  }
  get maxEpochs(): number {
    return this.config.maxEpochs;
  }
  get maxSteps(): number {
    return this.config.maxSteps;
  }
  get maxTimeSeconds(): number | null {
    return this.config.maxTimeSeconds;
  }
  get defaultRootDir(): string {
    return this.config.defaultRootDir;
  }
  get accumulateGradBatches(): number {
    return this.config.accumulateGradBatches;
  }
  /** training batches in the current epoch (after limits) */
  get numTrainBatches(): number {
    return this.fitLoop.epochLoop.numBatches;
  }
  get trainLoader(): DataLoader | null {
    return this.fitLoop.trainLoader;
  }
  get valLoader(): DataLoader | null {
    return this.fitLoop.valLoader;
  }
  /** true between optimizer steps: no gradients are half-accumulated, so a checkpoint is complete */
  get atOptimizerStepBoundary(): boolean {
    return this.fitLoop.epochLoop.atOptimizerStepBoundary;
  }
  /** where checkpoints go: the first ModelCheckpoint's dirpath, else $KILN_CHECKPOINT_DIR, else <root>/checkpoints */
  get checkpointDir(): string {
    for (const cb of this.callbacks) {
      const dir = (cb as { dirpath?: unknown }).dirpath;
      if (typeof dir === 'string') return dir;
    }
    return defaultCheckpointDir(this.defaultRootDir, { join, resolve }, process.env);
  }
  /** total optimizer steps the run will take if nothing stops it early (null when unbounded) */
  estimatedTotalSteps(): number | null {
    return this.fitLoop.estimatedTotalSteps();
  }
  /** @internal */
  _optimizers(): tf.Optimizer[] {
    return this.optimization.optimizers;
  }
  /** @internal */
  _schedulers(): ResolvedScheduler[] {
    return this.optimization.schedulers;
  }
  /** @internal one optimizer step (Module.manualStep) */
  _optimizerStep(grads: tf.NamedTensorMap, optimizerIndex: number): Promise<void> {
    return this.optimization.optimizerStep(grads, optimizerIndex);
  }

  // ---- public entry points ----
  async fit(module: Module, data?: DataSource, opts: RunOptions = {}): Promise<void> {
    await runStage(this, 'fit', module, data, async () => {
      const train = loaderFor('train', data);
      if (!train)
        throw new Error(
          'fit needs training data: a DataModule with trainDataloader() or { train: DataLoader }',
        );
      let val = loaderFor('val', data);
      let trainLoader = train;
      if (this.config.overfitBatches > 0) {
        // the same first batches, in order, for training and validation
        trainLoader = new DataLoader(train.dataset, {
          batchSize: train.batchSize,
          dropLast: train.dropLast,
          collate: train.collate,
        });
        val = trainLoader;
      }
      const fit = this.fitLoop;
      fit.attach(module, trainLoader, val);
      for (const l of [trainLoader, fit.valLoader])
        l?.setShard((idx, epoch) => this.strategy.shardIndices(idx, epoch));
      this.optimization.configure(module);
      this.metrics.resetEpoch('train');
      // without a checkpoint the loop goes on from where the last fit left it (fresh: epoch 0, step 0)
      const ckpt = await this.checkpointConnector.resolve(opts.ckptPath);
      if (ckpt) await this.checkpointConnector.restore(module, ckpt.state, ckpt.path, 'full');
      else if (fit.state.batchPosition > 0 && !fit.state.epochFinished) {
        const { epoch, batchPosition } = fit.state; // a second fit: on at the next batch of that epoch
        trainLoader.loadState({ ...trainLoader.state(), epoch, position: batchPosition });
      }
      // every variable, not only trainable ones: normalization statistics must match across ranks too
      await this.strategy.broadcastVariables(module.namedVariables().map((v) => v.variable));
      await this.hooks.call('onFitStart', module);
      if (fit.valLoader && !ckpt && !this.barebones)
        await this.evaluationLoop.sanityCheck(module, fit.valLoader, fit.numValBatches);
      await this.hooks.call('onTrainStart', module);
      await fit.run(module);
      await this.hooks.call('onTrainEnd', module);
      await this.hooks.call('onFitEnd', module);
    });
    if (this.status === 'preempted' && this.preemptExitCode !== null) process.exit(this.preemptExitCode);
  }

  async validate(module: Module, data?: DataSource, opts: RunOptions = {}): Promise<Record<string, number>> {
    return runStage(this, 'validate', module, data, async () => {
      const loader = loaderFor('val', data);
      if (!loader)
        throw new Error('validate needs data: a DataModule with valDataloader() or { val: DataLoader }');
      await this.checkpointConnector.loadWeights(module, opts.ckptPath);
      return this.evaluationLoop.run(
        module,
        'validate',
        loader,
        this.config.limitValBatches,
        'limitValBatches',
      );
    });
  }

  async test(module: Module, data?: DataSource, opts: RunOptions = {}): Promise<Record<string, number>> {
    return runStage(this, 'test', module, data, async () => {
      const loader = loaderFor('test', data);
      if (!loader)
        throw new Error('test needs data: a DataModule with testDataloader() or { test: DataLoader }');
      await this.checkpointConnector.loadWeights(module, opts.ckptPath);
      return this.evaluationLoop.run(
        module,
        'test',
        loader,
        this.config.limitTestBatches,
        'limitTestBatches',
      );
    });
  }

  /** predictStep outputs, one per batch; the caller owns (and disposes) returned tensors. */
  async predict(module: Module, data?: DataSource, opts: RunOptions = {}): Promise<unknown[]> {
    return runStage(this, 'predict', module, data, async () => {
      const loader = loaderFor('predict', data);
      if (!loader)
        throw new Error(
          'predict needs data: a DataModule with predictDataloader() or { predict: DataLoader }',
        );
      if (!module.predictStep)
        throw new Error(`${module.constructor.name} has no predictStep(batch, batchIdx)`);
      await this.checkpointConnector.loadWeights(module, opts.ckptPath);
      return this.evaluationLoop.predict(module, loader);
    });
  }

  /** Saves the full training state to `path` (atomically). Only rank 0 writes; other ranks return null. */
  saveCheckpoint(
    path: string,
    info: { isBest?: boolean; isLast?: boolean } = {},
  ): Promise<CheckpointInfo | null> {
    return this.checkpointConnector.save(path, info);
  }

  /** @internal epoch- and step-level metrics to every logger (rank 0), at the current global step */
  async logToLoggers(metrics: Record<string, number>): Promise<void> {
    if (!this.isGlobalZero || this.loggers.length === 0) return;
    const keys = Object.keys(metrics).filter((k) => k !== 'epoch');
    if (keys.length === 0) return;
    for (const lg of this.loggers) await lg.logMetrics(metrics, this.globalStep);
  }
}

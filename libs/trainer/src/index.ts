// One tfjs instance for everything: user code imports tf from here (`import { tf } from '@kiln/trainer'`).
export * as tf from '@tensorflow/tfjs';
export * from './backend/index.js';
export { Callback } from './callbacks/callback.js';
export { EarlyStopping, type EarlyStoppingOptions } from './callbacks/early-stopping.js';
export { LearningRateMonitor } from './callbacks/lr-monitor.js';
export { ModelCheckpoint, type ModelCheckpointOptions } from './callbacks/model-checkpoint.js';
export { ModelSummary, type SummaryRow, summarize } from './callbacks/model-summary.js';
export { PreemptionHandler } from './callbacks/preemption.js';
export { ProgressBar } from './callbacks/progress-bar.js';
export {
  ProgressEndpoint,
  type ProgressEndpointOptions,
  progressEndpointFromEnv,
} from './callbacks/progress-endpoint.js';
export { Timer } from './callbacks/timer.js';
export {
  CHECKPOINT_FORMAT_VERSION,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpointFile,
  writeCheckpointFile,
} from './checkpoint/format.js';
export type { CheckpointState, LoopState, StoredTensor } from './checkpoint/state.js';
export {
  type LogOptions,
  Module,
  type NamedVariable,
  type ReduceFx,
  type StepOutput,
} from './core/module.js';
export { getGlobalRng, permutation, Rng, seedEverything, unseed } from './core/rng.js';
export { DataLoader, type DataLoaderOptions, type DataLoaderState, type ShardFn } from './data/dataloader.js';
export { DataModule, type Stage } from './data/datamodule.js';
export { type Batch, type Dataset, defaultCollate, TensorDataset } from './data/dataset.js';
// DDP: process groups over a TCP ring, the launcher behind `kiln fit --devices N`, the sampler.
export * from './distributed/index.js';
export * from './loggers/index.js';
// Fused losses: TensorFlow's softmax-cross-entropy op with a custom gradient on the tensorflow backend.
export * from './losses/index.js';
export type { ConfigureOptimizersResult, LRSchedulerConfig, OptimizerConfig } from './optim/config.js';
// Kiln's optimizers: torch.optim semantics, TensorFlow's fused training ops on the tensorflow backend.
export * from './optim/index.js';
export { getLearningRate, setLearningRate } from './optim/lr.js';
export {
  CosineAnnealingLR,
  ExponentialLR,
  LambdaLR,
  LRScheduler,
  ReduceLROnPlateau,
  StepLR,
} from './optim/schedulers.js';
export * from './precision/index.js';
export {
  contextFromEnv,
  defineScript,
  parseJsonObject,
  runScriptEntry,
  type ScriptContext,
  type ScriptEntry,
} from './script/contract.js';
export { createDdpStrategy, DDPStrategy, type DDPStrategyOptions } from './strategies/ddp.js';
export { SingleDeviceStrategy } from './strategies/single.js';
export type { Strategy } from './strategies/strategy.js';
export { clipGradients, globalNorm } from './trainer/clip.js';
export {
  parseMaxTime,
  TRAINER_OPTION_NAMES,
  TrainerOptionError,
  type TrainerOptions,
  validateTrainerOptions,
} from './trainer/options.js';
export { SimpleProfiler } from './trainer/profiler.js';
export {
  type DataSource,
  type RunOptions,
  Trainer,
  type TrainerStatus,
  TrainingStepError,
} from './trainer/trainer.js';

import type * as tf from '@tensorflow/tfjs';
import type { CheckpointState } from '../checkpoint/state.js';
import type { Module } from '../core/module.js';
import type { Stage } from '../data/datamodule.js';
import type { Batch } from '../data/dataset.js';
import type { Trainer } from '../trainer/trainer.js';

/**
 * Code that runs at points of the loop without living in the Module: checkpointing, early stopping,
 * progress. Override any hook; `stateDict`/`loadStateDict` put the callback's state in checkpoints
 * under `stateKey` (unique per Trainer).
 */
export abstract class Callback {
  /**
   * A callback that acts on a monitored metric (ModelCheckpoint, EarlyStopping): at train-epoch end it runs
   * after the module's hook, so it sees what the module logged there (Lightning's order).
   */
  get monitorsMetrics(): boolean {
    return false;
  }
  get stateKey(): string {
    return this.constructor.name;
  }
  setup(_trainer: Trainer, _module: Module, _stage: Stage): void | Promise<void> {}
  teardown(_trainer: Trainer, _module: Module, _stage: Stage): void | Promise<void> {}
  onFitStart(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onFitEnd(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onTrainStart(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onTrainEnd(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onTrainEpochStart(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onTrainEpochEnd(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onTrainBatchStart(
    _trainer: Trainer,
    _module: Module,
    _batch: Batch,
    _batchIdx: number,
  ): void | Promise<void> {}
  /** after the batch (and, at an accumulation boundary, the optimizer step) */
  onTrainBatchEnd(
    _trainer: Trainer,
    _module: Module,
    _outputs: { loss: number | null },
    _batchIdx: number,
  ): void | Promise<void> {}
  onSanityCheckStart(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onSanityCheckEnd(_trainer: Trainer, _module: Module): void | Promise<void> {}
  /** also around the sanity check (`trainer.sanityChecking` tells) */
  onValidationStart(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onValidationEnd(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onValidationEpochStart(_trainer: Trainer, _module: Module): void | Promise<void> {}
  /** before the epoch's logged values are reduced: a `log` here reaches callbackMetrics and loggers */
  onValidationEpochEnd(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onValidationBatchEnd(_trainer: Trainer, _module: Module, _batchIdx: number): void | Promise<void> {}
  onTestStart(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onTestEnd(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onTestEpochStart(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onTestEpochEnd(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onTestBatchEnd(_trainer: Trainer, _module: Module, _batchIdx: number): void | Promise<void> {}
  onPredictStart(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onPredictEnd(_trainer: Trainer, _module: Module): void | Promise<void> {}
  onBeforeOptimizerStep(_trainer: Trainer, _module: Module, _optimizer: tf.Optimizer): void {}
  onSaveCheckpoint(_trainer: Trainer, _module: Module, _checkpoint: CheckpointState): void {}
  onLoadCheckpoint(_trainer: Trainer, _module: Module, _checkpoint: CheckpointState): void {}
  onException(_trainer: Trainer, _module: Module, _error: unknown): void | Promise<void> {}
  stateDict(): Record<string, unknown> | undefined {
    return undefined;
  }
  loadStateDict(_state: Record<string, unknown>): void {}
}

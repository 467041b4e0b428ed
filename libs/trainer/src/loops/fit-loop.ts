import type { LoopState } from '../checkpoint/state.js';
import type { Module } from '../core/module.js';
import type { DataLoader } from '../data/dataloader.js';
import { limitBatches } from '../trainer/resolved-options.js';
import type { Trainer } from '../trainer/trainer.js';
import { TrainingEpochLoop } from './training-epoch-loop.js';

export function emptyLoopState(): LoopState {
  return { epoch: 0, globalStep: 0, batchPosition: 0, epochFinished: false, epochMetrics: {} };
}

/**
 * Epochs until maxEpochs, maxSteps or a stop that the minimums allow. Owns the loop position saved in
 * checkpoints; it survives between fit calls, so a second fit continues where the first ended.
 */
export class FitLoop {
  state: LoopState = emptyLoopState();
  trainLoader: DataLoader | null = null;
  /** null when fit validates nothing (no loader, no validationStep, or limitValBatches: 0) */
  valLoader: DataLoader | null = null;
  /** batches of one validation run */
  numValBatches = 0;
  /** training batches between validations (Lightning's val_check_batch) */
  valCheckBatch = 1;
  /** the last fit stopped inside an epoch: `state` still points into it, so a resume continues there */
  endedMidEpoch = false;
  readonly epochLoop: TrainingEpochLoop;

  constructor(private readonly trainer: Trainer) {
    this.epochLoop = new TrainingEpochLoop(trainer);
  }

  /** Sets the loaders up for a fit: what validation runs, how often. */
  attach(module: Module, train: DataLoader, val: DataLoader | null): void {
    const c = this.trainer.config;
    this.trainLoader = train;
    const numVal =
      val && module.validationStep ? limitBatches(c.limitValBatches, val.length, 'limitValBatches') : 0;
    this.numValBatches = numVal;
    this.valLoader = numVal > 0 ? val : null;
  }

  /** Lightning's `_can_stop_early`: a requested stop waits for minEpochs and minSteps. */
  canStopEarly(epochsProcessed: number): boolean {
    const c = this.trainer.config;
    return epochsProcessed >= c.minEpochs && this.state.globalStep >= c.minSteps;
  }

  validationThisEpoch(): boolean {
    const every = this.trainer.config.checkValEveryNEpoch;
    return this.valLoader !== null && (every === null || (this.state.epoch + 1) % every === 0);
  }

  async run(module: Module): Promise<void> {
    await this.epochs(module);
    // The step fit ended on, whether or not a logging step: where the run's progress stays.
    if (!this.trainer.barebones) await this.epochLoop.reportProgress();
  }

  private async epochs(module: Module): Promise<void> {
    const t = this.trainer;
    const c = t.config;
    const loader = this.trainLoader!;
    const loop = this.state;
    this.endedMidEpoch = false;
    if (loop.epochFinished) this.nextEpoch();
    for (;;) {
      if (c.maxEpochs >= 0 && loop.epoch >= c.maxEpochs) break;
      if (c.maxSteps >= 0 && loop.globalStep >= c.maxSteps) break;
      if (t.shouldStop && this.canStopEarly(loop.epoch)) break;
      loader.setEpoch(loop.epoch);
      const n = limitBatches(c.limitTrainBatches, loader.length, 'limitTrainBatches');
      this.epochLoop.numBatches = n;
      this.valCheckBatch = this.resolveValCheckBatch(n);
      await this.epochLoop.run(module);
      if (t.status === 'preempted') return;
      // a stop asked for at epoch end (EarlyStopping, Timer) on one rank ends the run on all of them
      if (t.strategy.worldSize > 1 && !t.barebones) await this.epochLoop.syncStopFlags();
      if (!loop.epochFinished) {
        this.endedMidEpoch = true;
        return;
      }
      this.nextEpoch();
    }
  }

  private nextEpoch(): void {
    this.state.epoch++;
    this.state.batchPosition = 0;
    this.state.epochFinished = false;
  }

  private resolveValCheckBatch(n: number): number {
    const c = this.trainer.config;
    const v = c.valCheckInterval;
    if (c.checkValEveryNEpoch === null) return v;
    if (Number.isInteger(v) && v > 1) {
      if (v > n) {
        throw new Error(
          `valCheckInterval (${v}) must be less than or equal to the number of the training batches (${n}). ` +
            'To disable validation set limitValBatches: 0; to validate by total training batches set checkValEveryNEpoch: null',
        );
      }
      return v;
    }
    return Math.max(1, Math.floor(n * v));
  }

  /** A validation run inside fit; training mode comes back after it. */
  async validate(module: Module): Promise<void> {
    const t = this.trainer;
    await t.evaluationLoop.run(
      module,
      'validate',
      this.valLoader!,
      { count: this.numValBatches },
      'limitValBatches',
    );
    module.training = true;
    t.metrics.kind = 'train';
  }

  /** total optimizer steps the run will take if nothing stops it early (null when unbounded) */
  estimatedTotalSteps(): number | null {
    const c = this.trainer.config;
    const perEpoch = Math.ceil(this.epochLoop.numBatches / c.accumulateGradBatches);
    const byEpochs = c.maxEpochs >= 0 ? perEpoch * c.maxEpochs : null;
    if (c.maxSteps >= 0) return byEpochs === null ? c.maxSteps : Math.min(c.maxSteps, byEpochs);
    return byEpochs;
  }
}

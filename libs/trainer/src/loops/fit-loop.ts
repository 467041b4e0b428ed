import type { LoopState } from '../checkpoint/state.js';
import type { Module } from '../core/module.js';
import type { DataLoader } from '../data/dataloader.js';
import { limitBatches } from '../trainer/resolved-options.js';
import type { Trainer } from '../trainer/trainer.js';
import { TrainingEpochLoop } from './training-epoch-loop.js';

export function emptyLoopState(): LoopState {
  return { epoch: 0, globalStep: 0, batchPosition: 0, epochFinished: false, epochMetrics: {} };
}

/** Epochs until maxEpochs, maxSteps or a stop; owns the loop position saved in checkpoints. */
export class FitLoop {
  state: LoopState = emptyLoopState();
  trainLoader: DataLoader | null = null;
  valLoader: DataLoader | null = null;
  readonly epochLoop: TrainingEpochLoop;

  constructor(private readonly trainer: Trainer) {
    this.epochLoop = new TrainingEpochLoop(trainer);
  }

  async run(module: Module): Promise<void> {
    const t = this.trainer;
    const c = t.config;
    const loader = this.trainLoader!;
    const loop = this.state;
    if (loop.epochFinished) {
      loop.epoch++;
      loop.batchPosition = 0;
      loop.epochFinished = false;
    }
    for (;;) {
      if (c.maxEpochs >= 0 && loop.epoch >= c.maxEpochs) break;
      if (c.maxSteps >= 0 && loop.globalStep >= c.maxSteps) break;
      if (t.shouldStop && loop.epoch >= c.minEpochs && loop.globalStep >= c.minSteps) break;
      t.shouldStop = false;
      loader.setEpoch(loop.epoch);
      this.epochLoop.numBatches = limitBatches(c.limitTrainBatches, loader.length);
      await this.epochLoop.run(module);
      if (t.status === 'preempted') return;
      if (t.shouldStop && (loop.epoch + 1 < c.minEpochs || loop.globalStep < c.minSteps)) {
        t.shouldStop = false; // keep going until the minimums are met
      }
      loop.epoch++;
      loop.batchPosition = 0;
      loop.epochFinished = false;
      if (t.shouldStop) break;
    }
  }

  /** A validation run inside fit; training mode comes back after it. */
  async validate(module: Module): Promise<void> {
    const t = this.trainer;
    await t.evaluationLoop.run(module, 'validate', this.valLoader!, t.config.limitValBatches);
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

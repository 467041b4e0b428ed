import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Module } from '../core/module.js';
import type { Trainer } from '../trainer/trainer.js';
import { batchSizeOf } from './evaluation-loop.js';
import { releaseTape } from './optimization.js';

const YIELD_EVERY_MS = 50;

/** One training epoch: batches from the loop's position, validation when due, the epoch-end hooks. */
export class TrainingEpochLoop {
  /** training batches in the current epoch (after limits) */
  numBatches = 0;
  private lastYield = performance.now();

  constructor(private readonly trainer: Trainer) {}

  /** true between optimizer steps: no gradients are half-accumulated, so a checkpoint is complete */
  get atOptimizerStepBoundary(): boolean {
    const p = this.trainer.fitLoop.state.batchPosition;
    return p % this.trainer.config.accumulateGradBatches === 0 || p >= this.numBatches;
  }

  async run(module: Module): Promise<void> {
    const t = this.trainer;
    const fit = t.fitLoop;
    const loader = fit.trainLoader!;
    const loop = fit.state;
    const prof = t.profiler;
    const n = this.numBatches;
    const accum = t.config.accumulateGradBatches;
    const bare = t.barebones;
    const valEvery = this.valCheckBatches(n);
    const valThisEpoch =
      fit.valLoader !== null && (loop.epoch + 1) % (t.config.checkValEveryNEpoch ?? 1) === 0;
    module.training = true;
    t.metrics.kind = 'train';
    await t.hooks.call('onTrainEpochStart', module);
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
          t.metrics.batchSize = batchSizeOf(batch);
          if ((await t.hooks.module('onTrainBatchStart', module, batch, batchIdx)) === -1) endEpoch = true;
          await t.hooks.callbacks('onTrainBatchStart', module, batch, batchIdx);
        }
        if (!endEpoch) {
          loss = module.automaticOptimization
            ? await t.optimization.automatic(module, batch, batchIdx, stepEnd)
            : await t.optimization.manual(module, batch, batchIdx);
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
        await t.hooks.call('onTrainBatchEnd', module, { loss }, batchIdx);
        if (stepEnd && t.strategy.worldSize > 1) {
          prof?.start('syncStopFlags');
          await this.syncStopFlags();
          prof?.stop('syncStopFlags');
        }
        if (stepEnd && t.preemptRequested) await this.preempt();
        if (valThisEpoch && valEvery.interval > 0 && (batchIdx + 1) % valEvery.interval === 0 && !isLast)
          await fit.validate(module);
      }
      if (performance.now() - this.lastYield > YIELD_EVERY_MS) await this.yieldToEventLoop();
      if (t.status === 'preempted') return;
      if (t.config.maxSteps >= 0 && loop.globalStep >= t.config.maxSteps) {
        t.shouldStop = true;
        break;
      }
      if (t.shouldStop && stepEnd) break;
    }
    if (bare) return;
    const finishedAll = loop.batchPosition >= n;
    if (valThisEpoch && (finishedAll || t.shouldStop) && valEvery.atEnd) await fit.validate(module);
    module.training = true;
    t.metrics.kind = 'train';
    const epochLogs = await t.metrics.endEpoch('train', (v, op) => t.strategy.reduceNumbers(v, op));
    t.optimization.stepEpochSchedulers(loop.epoch);
    loop.epochFinished = true;
    await t.logToLoggers({ ...epochLogs, epoch: loop.epoch });
    await t.hooks.call('onTrainEpochEnd', module);
  }

  private valCheckBatches(n: number): { interval: number; atEnd: boolean } {
    const v = this.trainer.config.valCheckInterval;
    if (v <= 1) {
      const every = v >= 1 ? 0 : Math.max(1, Math.floor(n * v));
      return { interval: every, atEnd: true };
    }
    return { interval: v, atEnd: n % v === 0 };
  }

  /** after every optimizer step when not barebones: step logging and the progress report */
  private async afterOptimizerStep(): Promise<void> {
    const t = this.trainer;
    const loop = t.fitLoop.state;
    if (loop.globalStep % t.config.logEveryNSteps !== 0) return;
    const logs = t.metrics.takeStepLogs();
    if (Object.keys(logs).length) await t.logToLoggers({ ...logs, epoch: loop.epoch });
    if (t.isGlobalZero) {
      const progress = {
        step: loop.globalStep,
        totalSteps: t.fitLoop.estimatedTotalSteps(),
        epoch: loop.epoch,
        etaSeconds: null,
        metrics: { ...t.metrics.callbackMetrics },
      };
      for (const lg of t.loggers) await lg.logProgress?.(progress);
    }
  }

  /** DDP: a stop or preemption on any rank stops every rank at the same step, so none waits forever. */
  private async syncStopFlags(): Promise<void> {
    const t = this.trainer;
    const [stop, preempt] = await t.strategy.reduceNumbers(
      [t.shouldStop ? 1 : 0, t.preemptRequested ? 1 : 0],
      'max',
    );
    if (stop && !t.shouldStop) {
      t.shouldStop = true;
      t.stopReason ??= 'another rank stopped';
    }
    if (preempt) t.preemptRequested = true;
  }

  /** Saves last.ckpt (rank 0 writes) and ends fit; `fit` then exits with the handler's code. */
  private async preempt(): Promise<void> {
    const t = this.trainer;
    await t.saveCheckpoint(join(t.checkpointDir, 'last.ckpt'), { isLast: true });
    t.status = 'preempted';
    t.shouldStop = true;
    t.stopReason = 'preempted (SIGTERM); checkpoint saved';
  }

  /**
   * The loop only awaits settled promises, which never lets timers, sockets or signal handlers (SIGTERM)
   * run; a macrotask turn every YIELD_EVERY_MS keeps them alive at no measurable cost.
   */
  private async yieldToEventLoop(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    this.lastYield = performance.now();
  }
}

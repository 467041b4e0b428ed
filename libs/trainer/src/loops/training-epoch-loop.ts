import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Module } from '../core/module.js';
import type { Trainer } from '../trainer/trainer.js';
import { batchSizeOf } from './evaluation-loop.js';
import { releaseTape, type StepLoss } from './optimization.js';

const YIELD_EVERY_MS = 50;

/** One training epoch: batches from the loop's position, validation when due, the epoch-end hooks. */
export class TrainingEpochLoop {
  /** training batches in the current epoch (after limits) */
  numBatches = 0;
  private lastYield = performance.now();
  /** the step of the last progress report (-1: none yet) */
  private reportedStep = -1;

  constructor(private readonly trainer: Trainer) {}

  /** true between optimizer steps: no gradients are half-accumulated, so a checkpoint is complete */
  get atOptimizerStepBoundary(): boolean {
    const p = this.trainer.fitLoop.state.batchPosition;
    return p % this.trainer.config.accumulateGradBatches === 0 || p >= this.numBatches;
  }

  /**
   * Runs epoch `state.epoch` from `state.batchPosition`. Validation runs after the batches it is due at
   * (and when the run stops early); non-monitored epoch LR schedulers step after the last batch, before
   * that validation; the epoch-end hooks follow, then the epoch's logged values reach the loggers.
   */
  async run(module: Module): Promise<void> {
    const t = this.trainer;
    const fit = t.fitLoop;
    const loader = fit.trainLoader!;
    const loop = fit.state;
    const prof = t.profiler;
    const n = this.numBatches;
    const accum = t.config.accumulateGradBatches;
    const maxSteps = t.config.maxSteps;
    const bare = t.barebones;
    module.training = true;
    t.metrics.kind = 'train';
    await t.hooks.call('onTrainEpochStart', module);
    const engine = tf.engine();
    loader.beginEpoch();
    let endedByHook = false;
    // resumed from a checkpoint taken after the epoch's last batch: its validation is still due
    if (loop.batchPosition >= n && n > 0 && !bare && this.validationDue(n - 1, n)) await fit.validate(module);
    for (let batchIdx = loop.batchPosition; batchIdx < n; batchIdx++) {
      if (t.shouldStop && fit.canStopEarly(loop.epoch)) break;
      const isLast = batchIdx + 1 === n;
      const stepEnd = (batchIdx + 1) % accum === 0 || isLast;
      let loss: StepLoss | null = null;
      engine.startScope();
      try {
        prof?.start('getTrainBatch');
        const batch = loader.nextBatch();
        prof?.stop('getTrainBatch');
        if (!batch) break;
        if (!bare) {
          t.metrics.batchSize = batchSizeOf(batch);
          await t.hooks.callbacks('onTrainBatchStart', module, batch, batchIdx);
          if ((await t.hooks.module('onTrainBatchStart', module, batch, batchIdx)) === -1) endedByHook = true;
        }
        if (!endedByHook) {
          loss = module.automaticOptimization
            ? await t.optimization.automatic(module, batch, batchIdx, stepEnd)
            : await t.optimization.manual(module, batch, batchIdx);
        }
      } catch (err) {
        releaseTape();
        loss?.release();
        throw err;
      } finally {
        engine.endScope();
      }
      try {
        loop.batchPosition = batchIdx + 1;
        if (endedByHook) break;
        if (isLast) t.optimization.stepEpochSchedulers(loop.epoch, false);
        if (!bare) {
          if (stepEnd) {
            prof?.start('afterOptimizerStep');
            await this.afterOptimizerStep();
            prof?.stop('afterOptimizerStep');
          }
          await t.hooks.call('onTrainBatchEnd', module, loss ? loss.outputs() : { loss: null }, batchIdx);
          if (stepEnd && t.strategy.worldSize > 1) await this.syncStopFlags();
          if (stepEnd && t.preemptRequested) await this.preempt();
          if (t.status === 'preempted') return;
          const stopping = stepEnd && t.shouldStop && fit.canStopEarly(loop.epoch);
          if (this.validationDue(batchIdx, n) || (stopping && fit.validationThisEpoch())) {
            await fit.validate(module);
            // a stop asked for by validation (EarlyStopping) on one rank: every rank breaks at this batch
            if (stepEnd && t.strategy.worldSize > 1) await this.syncStopFlags();
          }
        }
      } finally {
        // the loss stays on the device until the batch's hooks ran; nothing read it: never read back
        loss?.release();
      }
      if (performance.now() - this.lastYield > YIELD_EVERY_MS) await this.yieldToEventLoop();
      // maxSteps ends the run, not the epoch: it is no stop, and a resume continues at the next batch
      if (maxSteps >= 0 && loop.globalStep >= maxSteps) break;
      if (t.shouldStop && stepEnd && fit.canStopEarly(loop.epoch)) break;
    }
    loop.epochFinished = loop.batchPosition >= n || endedByHook;
    if (bare) return;
    module.training = true;
    t.metrics.kind = 'train';
    const epochLogs = await t.metrics.endEpoch('train', (v, op) => t.strategy.reduceNumbers(v, op));
    t.metrics.inEpochEndHook = true;
    try {
      await t.hooks.trainEpochEnd(module);
    } finally {
      t.metrics.inEpochEndHook = false;
    }
    const hookLogs = await t.metrics.endEpoch('train', (v, op) => t.strategy.reduceNumbers(v, op));
    if (loop.epochFinished) t.optimization.stepEpochSchedulers(loop.epoch, true);
    await t.logToLoggers({ ...epochLogs, ...hookLogs, epoch: loop.epoch });
  }

  /** Lightning's val_check_batch: after batch `batchIdx` of `n`, by epoch position or, without epochs, by total batches. */
  private validationDue(batchIdx: number, n: number): boolean {
    const t = this.trainer;
    const fit = t.fitLoop;
    if (!fit.validationThisEpoch()) return false;
    const every = fit.valCheckBatch;
    if (t.config.checkValEveryNEpoch === null) return (fit.state.epoch * n + batchIdx + 1) % every === 0;
    return (batchIdx + 1) % every === 0;
  }

  /** after every optimizer step when not barebones: step logging and the progress report */
  private async afterOptimizerStep(): Promise<void> {
    const t = this.trainer;
    const loop = t.fitLoop.state;
    if (loop.globalStep % t.config.logEveryNSteps !== 0) return;
    const logs = t.metrics.takeStepLogs();
    if (Object.keys(logs).length) await t.logToLoggers({ ...logs, epoch: loop.epoch });
    await this.reportProgress();
  }

  /**
   * Rank 0's progress report to the loggers, once per step reached. Also called when fit ends, so a run
   * whose last step is not a multiple of logEveryNSteps does not stay at its last report (e.g. 400 of 412).
   */
  async reportProgress(): Promise<void> {
    const t = this.trainer;
    const loop = t.fitLoop.state;
    if (!t.isGlobalZero || loop.globalStep === this.reportedStep) return;
    this.reportedStep = loop.globalStep;
    const progress = {
      step: loop.globalStep,
      totalSteps: t.fitLoop.estimatedTotalSteps(),
      epoch: loop.epoch,
      etaSeconds: null,
      metrics: { ...t.metrics.callbackMetrics },
    };
    for (const lg of t.loggers) await lg.logProgress?.(progress);
  }

  /** DDP: a stop or preemption on any rank stops every rank at the same step, so none waits forever. */
  async syncStopFlags(): Promise<void> {
    const t = this.trainer;
    t.profiler?.start('syncStopFlags');
    const [stop, preempt] = await t.strategy.reduceNumbers(
      [t.shouldStop ? 1 : 0, t.preemptRequested ? 1 : 0],
      'max',
    );
    if (stop && !t.shouldStop) {
      t.shouldStop = true;
      t.stopReason ??= 'another rank stopped';
    }
    if (preempt) t.preemptRequested = true;
    t.profiler?.stop('syncStopFlags');
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

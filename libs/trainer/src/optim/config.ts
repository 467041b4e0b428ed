import * as tf from '@tensorflow/tfjs';
import { LRScheduler } from './schedulers.js';

export interface LRSchedulerConfig {
  scheduler: LRScheduler;
  /** step the schedule after every optimizer step or every epoch (default 'epoch') */
  interval?: 'step' | 'epoch';
  /** step it every `frequency` intervals (default 1) */
  frequency?: number;
  /** metric handed to `scheduler.step(metric)` (ReduceLROnPlateau) */
  monitor?: string;
  /** a missing monitored metric is an error (default true) */
  strict?: boolean;
  /** name shown by LearningRateMonitor */
  name?: string;
}

export interface OptimizerConfig {
  optimizer: tf.Optimizer;
  lrScheduler?: LRScheduler | LRSchedulerConfig;
}

export type ConfigureOptimizersResult = tf.Optimizer | OptimizerConfig | OptimizerConfig[] | tf.Optimizer[];

export interface ResolvedScheduler {
  scheduler: LRScheduler;
  interval: 'step' | 'epoch';
  frequency: number;
  monitor?: string;
  strict: boolean;
  name: string;
  optimizerIndex: number;
}

/** Normalizes what `configureOptimizers` returned, with a clear error for anything else. */
export function resolveOptimizers(result: unknown): {
  optimizers: tf.Optimizer[];
  schedulers: ResolvedScheduler[];
} {
  const items = Array.isArray(result) ? result : [result];
  if (items.length === 0) throw new Error('configureOptimizers() returned no optimizer');
  const optimizers: tf.Optimizer[] = [];
  const schedulers: ResolvedScheduler[] = [];
  items.forEach((item, i) => {
    if (isOptimizer(item)) {
      optimizers.push(item);
      return;
    }
    const cfg = item as OptimizerConfig | null;
    if (!cfg || typeof cfg !== 'object' || !isOptimizer(cfg.optimizer)) {
      throw new Error(
        'configureOptimizers() must return a tf.Optimizer, { optimizer, lrScheduler? } or an array of them; ' +
          `got ${describe(item)} at position ${i}`,
      );
    }
    optimizers.push(cfg.optimizer);
    if (cfg.lrScheduler === undefined) return;
    const sc: LRSchedulerConfig =
      cfg.lrScheduler instanceof LRScheduler ? { scheduler: cfg.lrScheduler } : cfg.lrScheduler;
    if (!(sc.scheduler instanceof LRScheduler)) {
      throw new Error(
        `lrScheduler.scheduler must be an LRScheduler (StepLR, CosineAnnealingLR, …), got ${describe(sc.scheduler)}`,
      );
    }
    const interval = sc.interval ?? 'epoch';
    if (interval !== 'step' && interval !== 'epoch') {
      throw new Error(`lrScheduler.interval must be 'step' or 'epoch', got ${JSON.stringify(interval)}`);
    }
    const frequency = sc.frequency ?? 1;
    if (!Number.isInteger(frequency) || frequency < 1) {
      throw new Error(`lrScheduler.frequency must be a positive integer, got ${JSON.stringify(frequency)}`);
    }
    schedulers.push({
      scheduler: sc.scheduler,
      interval,
      frequency,
      monitor: sc.monitor,
      strict: sc.strict ?? true,
      name: sc.name ?? `lr-${cfg.optimizer.getClassName()}${optimizers.length > 1 ? `-${i}` : ''}`,
      optimizerIndex: i,
    });
  });
  return { optimizers, schedulers };
}

// tf.Optimizer's Symbol.hasInstance reads `.minimize` and so throws on null/undefined
function isOptimizer(x: unknown): x is tf.Optimizer {
  return x !== null && typeof x === 'object' && x instanceof tf.Optimizer;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'object';
  return `${typeof x} ${JSON.stringify(x)}`;
}

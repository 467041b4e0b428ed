import { resolve } from 'node:path';
import type { Callback } from '../callbacks/callback.js';
import type { Logger } from '../loggers/logger.js';
import type { Strategy } from '../strategies/strategy.js';
import { parseMaxTime, type TrainerOptions } from './options.js';

/** How many batches a loop takes: a count, or a fraction of the loader (1 = all of it). */
export type BatchLimit = { count: number } | { fraction: number };

/**
 * TrainerOptions with every default and `fastDevRun` applied, resolved once when the Trainer is built:
 * the loops read this and never write `?? default`.
 */
export interface ResolvedOptions {
  accelerator: 'cpu' | 'gpu' | 'auto';
  backend: 'tensorflow' | 'webgpu' | 'cpu' | 'wasm' | 'auto';
  intraOpThreads: number | null;
  interOpThreads: number | null;
  devices: number | 'auto';
  numNodes: number | null;
  strategy: 'auto' | 'single' | 'ddp' | Strategy;
  /** -1: no limit */
  maxEpochs: number;
  minEpochs: number;
  /** -1: no limit */
  maxSteps: number;
  minSteps: number;
  maxTimeSeconds: number | null;
  limitTrainBatches: BatchLimit;
  limitValBatches: BatchLimit;
  limitTestBatches: BatchLimit;
  limitPredictBatches: BatchLimit;
  /** batches of a fastDevRun; 0 when off */
  fastDevRun: number;
  /** 0 when off; else the limit training and validation share */
  overfitBatches: number;
  valCheckInterval: number;
  checkValEveryNEpoch: number | null;
  /** -1: the whole validation set */
  numSanityValSteps: number;
  logEveryNSteps: number;
  accumulateGradBatches: number;
  gradientClipVal: number | null;
  gradientClipAlgorithm: 'norm' | 'value';
  deterministic: boolean;
  seed: number | null;
  enableCheckpointing: boolean;
  enableProgressBar: boolean;
  enableModelSummary: boolean;
  defaultRootDir: string;
  barebones: boolean;
  profiler: 'simple' | null;
  callbacks: Callback[];
  /** null: the default (a CSVLogger) */
  logger: Logger[] | false | null;
  detectAnomaly: boolean;
  precision: NonNullable<TrainerOptions['precision']>;
  /** null: eager steps */
  compile: { xla: boolean; eval: boolean } | null;
}

function limitOf(v: number | undefined): BatchLimit {
  if (v === undefined) return { fraction: 1 };
  // 1 is the whole loader (a JavaScript number cannot tell 1 from 1.0); other integers are counts
  return Number.isInteger(v) && v !== 1 ? { count: v } : { fraction: v };
}

/** Applies defaults to options already checked by validateTrainerOptions. */
export function resolveOptions(o: TrainerOptions): ResolvedOptions {
  const devRun =
    o.fastDevRun === true ? 1 : o.fastDevRun === false || o.fastDevRun === undefined ? 0 : o.fastDevRun;
  const overfit = o.overfitBatches ?? 0;
  const dev: BatchLimit | null = devRun > 0 ? { count: devRun } : null;
  const overfitLimit: BatchLimit | null = overfit > 0 ? limitOf(overfit) : null;
  const maxSteps = devRun > 0 ? devRun : (o.maxSteps ?? -1);
  const maxEpochs =
    devRun > 0 ? 1 : (o.maxEpochs ?? (o.maxSteps !== undefined && o.maxSteps >= 0 ? -1 : 1000));
  return {
    accelerator: o.accelerator ?? 'auto',
    backend: o.backend ?? 'auto',
    intraOpThreads: o.intraOpThreads ?? null,
    interOpThreads: o.interOpThreads ?? null,
    devices: o.devices ?? 1,
    numNodes: o.numNodes ?? null,
    strategy: o.strategy ?? 'auto',
    maxEpochs,
    minEpochs: o.minEpochs ?? 0,
    maxSteps,
    minSteps: o.minSteps ?? 0,
    maxTimeSeconds: parseMaxTime(o.maxTime),
    limitTrainBatches: dev ?? overfitLimit ?? limitOf(o.limitTrainBatches),
    limitValBatches: dev ?? overfitLimit ?? limitOf(o.limitValBatches),
    limitTestBatches: dev ?? limitOf(o.limitTestBatches),
    limitPredictBatches: dev ?? limitOf(o.limitPredictBatches),
    fastDevRun: devRun,
    overfitBatches: overfit,
    // a fastDevRun validates once, after its batches (Lightning resets both)
    valCheckInterval: devRun > 0 ? 1 : (o.valCheckInterval ?? 1),
    checkValEveryNEpoch: devRun > 0 || o.checkValEveryNEpoch === undefined ? 1 : o.checkValEveryNEpoch,
    numSanityValSteps: devRun > 0 ? 0 : (o.numSanityValSteps ?? 2),
    logEveryNSteps: o.logEveryNSteps ?? 50,
    accumulateGradBatches: o.accumulateGradBatches ?? 1,
    gradientClipVal: o.gradientClipVal ?? null,
    gradientClipAlgorithm: o.gradientClipAlgorithm ?? 'norm',
    deterministic: o.deterministic ?? false,
    seed: o.seed ?? null,
    enableCheckpointing: o.enableCheckpointing ?? true,
    enableProgressBar: o.enableProgressBar ?? true,
    enableModelSummary: o.enableModelSummary ?? true,
    defaultRootDir: resolve(o.defaultRootDir ?? 'kiln_logs'),
    barebones: o.barebones ?? false,
    profiler: o.profiler ?? null,
    callbacks: o.callbacks ?? [],
    logger:
      o.logger === undefined
        ? null
        : o.logger === false
          ? false
          : Array.isArray(o.logger)
            ? o.logger
            : [o.logger],
    detectAnomaly: o.detectAnomaly ?? false,
    precision: o.precision ?? '32',
    compile:
      o.compile === undefined || o.compile === false
        ? null
        : {
            xla: typeof o.compile === 'object' && o.compile.xla === true,
            eval: typeof o.compile === 'object' && o.compile.eval === true,
          },
  };
}

/**
 * Batches a loop runs out of `available` under `limit`. A fraction that selects no batch is an error
 * naming the option (Lightning's `_parse_num_batches`), not a silently skipped loop.
 */
export function limitBatches(limit: BatchLimit, available: number, option: string): number {
  if ('count' in limit) return Math.min(available, limit.count);
  if (limit.fraction === 0) return 0;
  const n = Math.floor(available * limit.fraction);
  if (n === 0 && available > 0) {
    throw new Error(
      `${option}: ${limit.fraction} of ${available} batches is less than one batch; ` +
        `use at least ${option}: ${(1 / available).toPrecision(3)}, a batch count, or 0 to skip the loop`,
    );
  }
  return n;
}

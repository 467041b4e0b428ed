import * as tf from '@tensorflow/tfjs';
import type { CheckpointState } from '../checkpoint/state.js';
import type { Batch } from '../data/dataset.js';
import type { ConfigureOptimizersResult, ResolvedScheduler } from '../optim/config.js';
import type { Trainer } from '../trainer/trainer.js';

export type ReduceFx = 'mean' | 'sum' | 'max' | 'min';

export interface LogOptions {
  /** log this step's value (default: true in training, false in validation/test) */
  onStep?: boolean;
  /** aggregate over the epoch with `reduceFx` (default: false in training, true in validation/test) */
  onEpoch?: boolean;
  /** show in the progress bar */
  progBar?: boolean;
  /** send to loggers (default true) */
  logger?: boolean;
  reduceFx?: ReduceFx;
  /** weight of this value in an epoch mean (default: the batch's first dimension) */
  batchSize?: number;
  /** reduce across DDP ranks at epoch end */
  syncDist?: boolean;
}

/** What `trainingStep` returns: the loss, or an object holding it (other fields reach onTrainBatchEnd). */
export type StepOutput =
  | tf.Scalar
  | tf.Tensor
  | { loss: tf.Scalar | tf.Tensor; [key: string]: unknown }
  | undefined
  | null;

/** A variable with the stable name it gets in checkpoints. */
export interface NamedVariable {
  name: string;
  variable: tf.Variable;
  trainable: boolean;
}

/** Where `log` sends values; the Trainer installs it while a loop runs. */
export interface LogSink {
  log(name: string, value: number, opts: LogOptions): void;
}

export const LOG_OPTION_KEYS = new Set([
  'onStep',
  'onEpoch',
  'progBar',
  'logger',
  'reduceFx',
  'batchSize',
  'syncDist',
]);

/**
 * The model and how to train it: the steps, the optimizers, and hooks at every point of the loop.
 * Variables are found by walking the module's own fields (tf.Variable, layers and models, nested
 * Modules, arrays of them) so checkpoint names are stable: `net/0`, `net/1`, `head.bias`, ….
 */
export abstract class Module {
  /** false: trainingStep drives backward and the optimizer itself (manualBackward / manualStep) */
  automaticOptimization = true;
  /** true while the Trainer runs training steps: pass it to layers (`net.apply(x, { training: this.training })`) */
  training = false;
  /** Hyperparameters saved in checkpoints and sent to loggers. */
  hparams: Record<string, unknown> = {};
  /** @internal set by the Trainer */
  _trainer: Trainer | null = null;
  /** @internal set by the Trainer while a loop runs */
  _logSink: LogSink | null = null;

  get trainer(): Trainer {
    if (!this._trainer)
      throw new Error('this Module is not attached to a Trainer (call trainer.fit(module, …))');
    return this._trainer;
  }

  // ---- steps (override) ----
  abstract trainingStep(batch: Batch, batchIdx: number): StepOutput | Promise<StepOutput>;
  validationStep?(batch: Batch, batchIdx: number): unknown;
  testStep?(batch: Batch, batchIdx: number): unknown;
  predictStep?(batch: Batch, batchIdx: number): tf.Tensor | tf.Tensor[] | unknown;
  abstract configureOptimizers(): ConfigureOptimizersResult;

  // ---- hooks (override any) ----
  onFitStart(): void | Promise<void> {}
  onFitEnd(): void | Promise<void> {}
  onTrainStart(): void | Promise<void> {}
  onTrainEnd(): void | Promise<void> {}
  onTrainEpochStart(): void | Promise<void> {}
  onTrainEpochEnd(): void | Promise<void> {}
  /** return -1 to end the epoch early */
  onTrainBatchStart(_batch: Batch, _batchIdx: number): number | undefined {
    return undefined;
  }
  /** after the batch (and the optimizer step, at an accumulation boundary); the batch is already disposed */
  onTrainBatchEnd(_outputs: { loss: number | null }, _batchIdx: number): void {}
  onValidationStart(): void | Promise<void> {}
  onValidationEnd(): void | Promise<void> {}
  onValidationEpochStart(): void | Promise<void> {}
  onValidationEpochEnd(): void | Promise<void> {}
  onTestStart(): void | Promise<void> {}
  onTestEnd(): void | Promise<void> {}
  onTestEpochStart(): void | Promise<void> {}
  onTestEpochEnd(): void | Promise<void> {}
  onPredictStart(): void | Promise<void> {}
  onPredictEnd(): void | Promise<void> {}
  /** gradients are final (accumulated, all-reduced, not yet clipped) */
  onBeforeOptimizerStep(_optimizer: tf.Optimizer, _grads: tf.NamedTensorMap): void {}
  onSaveCheckpoint(_checkpoint: CheckpointState): void {}
  onLoadCheckpoint(_checkpoint: CheckpointState): void {}

  // ---- logging ----
  /** Records a scalar metric; tensors are read at once (so the value survives the step's tidy scope). */
  log(name: string, value: number | tf.Tensor, opts: LogOptions = {}): void {
    const sink = this._logSink;
    if (!sink) return; // barebones, or called outside a loop
    if (typeof name !== 'string' || name.length === 0)
      throw new Error('log(name, …): name must be a non-empty string');
    for (const key of Object.keys(opts)) {
      if (!LOG_OPTION_KEYS.has(key)) {
        throw new Error(
          `log("${name}"): unknown option "${key}" (known: ${[...LOG_OPTION_KEYS].join(', ')})`,
        );
      }
    }
    let v: number;
    if (typeof value === 'number') v = value;
    else if (value instanceof tf.Tensor) {
      if (value.size !== 1)
        throw new Error(`log("${name}"): expected a scalar, got a tensor of shape [${value.shape}]`);
      v = value.dataSync()[0]!;
    } else throw new Error(`log("${name}"): expected a number or a scalar tensor, got ${typeof value}`);
    sink.log(name, v, opts);
  }

  logDict(values: Record<string, number | tf.Tensor>, opts: LogOptions = {}): void {
    for (const [k, v] of Object.entries(values)) this.log(k, v, opts);
  }

  saveHyperparameters(hparams: Record<string, unknown>): void {
    if (hparams === null || typeof hparams !== 'object' || Array.isArray(hparams)) {
      throw new Error('saveHyperparameters expects a plain object of hyperparameters');
    }
    JSON.stringify(hparams); // hyperparameters must survive a checkpoint: fail now, not at save time
    this.hparams = { ...this.hparams, ...hparams };
  }

  // ---- variables ----
  /** Every variable of the module (trainable or not) under a stable name. */
  namedVariables(): NamedVariable[] {
    const out: NamedVariable[] = [];
    const seen = new Set<number>();
    collect(this, '', out, seen, new Set());
    return out;
  }

  /** The variables gradients are taken for. */
  parameters(): tf.Variable[] {
    return this.namedVariables()
      .filter((v) => v.trainable)
      .map((v) => v.variable);
  }

  // ---- manual optimization ----
  optimizers(): tf.Optimizer[] {
    return this.trainer._optimizers();
  }

  lrSchedulers(): ResolvedScheduler[] {
    return this.trainer._schedulers();
  }

  /** Loss and gradients of every trainable parameter (or of `varList`). The caller owns both. */
  manualBackward(
    lossFn: () => tf.Scalar,
    varList?: tf.Variable[],
  ): { loss: tf.Scalar; grads: tf.NamedTensorMap } {
    const { value, grads } = tf.variableGrads(lossFn, varList ?? this.parameters());
    return { loss: value, grads };
  }

  /** All-reduce (DDP), clip per the Trainer's options, apply, and dispose the gradients. */
  async manualStep(grads: tf.NamedTensorMap, optimizerIndex = 0): Promise<void> {
    await this.trainer._optimizerStep(grads, optimizerIndex);
  }
}

function collect(
  obj: object,
  prefix: string,
  out: NamedVariable[],
  seen: Set<number>,
  visiting: Set<object>,
): void {
  if (visiting.has(obj)) return;
  visiting.add(obj);
  for (const key of Object.keys(obj)) {
    if (key.startsWith('_') || key === 'hparams') continue;
    const value = (obj as Record<string, unknown>)[key];
    walk(value, prefix ? `${prefix}.${key}` : key, out, seen, visiting);
  }
}

function walk(
  value: unknown,
  name: string,
  out: NamedVariable[],
  seen: Set<number>,
  visiting: Set<object>,
): void {
  if (value === null || typeof value !== 'object') return;
  if (value instanceof tf.Variable) {
    if (!seen.has(value.id)) {
      seen.add(value.id);
      out.push({ name, variable: value, trainable: value.trainable });
    }
  } else if (value instanceof tf.layers.Layer) {
    value.weights.forEach((w, i) => {
      const v = w.read() as tf.Variable;
      if (seen.has(v.id)) return;
      seen.add(v.id);
      out.push({ name: `${name}/${i}`, variable: v, trainable: w.trainable });
    });
  } else if (value instanceof Module) {
    collect(value, name, out, seen, visiting);
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) walk(v, `${name}.${i}`, out, seen, visiting);
  }
}

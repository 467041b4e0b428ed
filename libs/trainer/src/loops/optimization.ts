import * as tf from '@tensorflow/tfjs';
import { CompiledStep } from '../compile/compiled-step.js';
import { GradientSlots } from '../compile/gradient-slots.js';
import { Module, type StepOutput } from '../core/module.js';
import type { Batch } from '../data/dataset.js';
import { type ResolvedScheduler, resolveOptimizers } from '../optim/config.js';
import { clipGradients } from '../trainer/clip.js';
import type { Trainer } from '../trainer/trainer.js';

/** Thrown (and turned into a clear message) when a trainingStep gives no usable loss. */
export class TrainingStepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingStepError';
  }
}

/**
 * One training batch's optimization, automatic or manual, and the optimizers and LR schedulers it
 * drives. The automatic step is five seams: forward+loss and backward (`forwardBackward`), gradient
 * accumulation (`accumulate`), then at an accumulation boundary `optimizerStep`: all-reduce, clip,
 * update. Gradient accumulation lives here (a compiled step's sum in compile/gradient-slots.ts).
 */
export class Optimization {
  optimizers: tf.Optimizer[] = [];
  schedulers: ResolvedScheduler[] = [];
  private accGrads: tf.NamedTensorMap | null = null;
  /** the compiled training step (Trainer option `compile`), null when steps run eagerly */
  compiled: CompiledStep | null = null;
  /**
   * DDP's compiled route: whether clipping and the update after the all-reduce run as a second
   * compiled function (KILN_DDP_COMPILED_UPDATE=1) or eagerly, Kiln's fused update kernels (the
   * default: bench/ddp/update.ts measures the eager update faster, 0.6 vs 0.7 ms on an MLP)
   */
  ddpCompiledUpdate = process.env.KILN_DDP_COMPILED_UPDATE === '1';
  /** the compiled route's accumulated gradients (accumulateGradBatches > 1), made on its first step */
  private slots: GradientSlots | null = null;

  constructor(private readonly trainer: Trainer) {}

  configure(module: Module): void {
    const { optimizers, schedulers } = resolveOptimizers(module.configureOptimizers());
    if (module.automaticOptimization && optimizers.length > 1) {
      throw new Error(
        'more than one optimizer needs manual optimization: set automaticOptimization = false in the Module',
      );
    }
    if (module.parameters().length === 0) {
      throw new Error(
        `${module.constructor.name} has no trainable variables: keep layers/models/tf.Variables in fields, built (give the first layer an inputShape)`,
      );
    }
    this.optimizers = optimizers;
    this.schedulers = schedulers;
    this.compiled?.dispose();
    const compile = this.trainer.config.compile;
    this.compiled = compile ? new CompiledStep(compile, (m) => process.stderr.write(`kiln: ${m}\n`)) : null;
  }

  /**
   * Automatic optimization of one batch, inside the caller's tensor scope; `stepEnd` marks the last batch
   * of an accumulation window. Returns the step's loss, not read back (see StepLoss), or null when
   * barebones skips it.
   */
  async automatic(
    module: Module,
    batch: Batch,
    batchIdx: number,
    stepEnd: boolean,
  ): Promise<StepLoss | null> {
    const t = this.trainer;
    const accum = t.config.accumulateGradBatches;
    // once on the compiled route, a step that falls back later stays on it (eagerly): its gradient
    // accumulation window lives in the route's slots
    if (this.compiled && this.gradientsOut(module))
      return this.readLoss(await this.gradsCompiledStep(module, batch, batchIdx, stepEnd), batchIdx, accum);
    if (this.compiled)
      return this.readLoss(await this.compiledStep(module, batch, batchIdx, stepEnd), batchIdx, accum);
    t.profiler?.start('trainingStep+backward');
    const { value, grads } = this.forwardBackward(module, batch, batchIdx, accum);
    t.profiler?.stop('trainingStep+backward');
    const loss = this.readLoss(value, batchIdx, accum);
    if (accum > 1) this.accumulate(grads);
    if (stepEnd) await this.optimizerStep(accum > 1 ? this.takeAccumulated() : grads, 0);
    return loss;
  }

  /**
   * The step's loss (times `accum`: the loss was divided for accumulation), left on the device: it is
   * read back only when a hook reads `outputs.loss` (StepLoss), or at once with detectAnomaly, which
   * checks every step. Null when barebones.
   */
  private readLoss(value: tf.Scalar, batchIdx: number, accum: number): StepLoss | null {
    const t = this.trainer;
    if (t.barebones) return null;
    const loss = new StepLoss(value, accum);
    if (t.config.detectAnomaly && !Number.isFinite(loss.value)) {
      const s = t.fitLoop.state;
      throw new TrainingStepError(
        `trainingStep returned a non-finite loss (${loss.value}) at epoch ${s.epoch}, batch ${batchIdx}, global step ${s.globalStep} (detectAnomaly)`,
      );
    }
    return loss;
  }

  /**
   * Whether the compiled function stops at the gradients (gradsCompiledStep): under DDP, which
   * all-reduces them, and for a Module overriding onBeforeOptimizerStep, which reads them.
   */
  private gradientsOut(module: Module): boolean {
    return (
      this.trainer.strategy.worldSize > 1 ||
      module.onBeforeOptimizerStep !== Module.prototype.onBeforeOptimizerStep
    );
  }

  /**
   * forward, loss, backward, clipping and the update as one TensorFlow function call (traced by the
   * first steps, see compile/compiled-step.ts). With gradient accumulation a micro-step inside a
   * window is its own function (forward, backward, the sum into the slots) and the window's last one
   * adds, clips and updates; the first micro-step of a window, which only holds its gradients, is a
   * third. The callbacks' onBeforeOptimizerStep runs before the updating step, as the callbacks see no
   * gradients. Returns the loss divided by accumulateGradBatches, as the eager step does.
   */
  private async compiledStep(
    module: Module,
    batch: Batch,
    batchIdx: number,
    stepEnd: boolean,
  ): Promise<tf.Scalar> {
    const t = this.trainer;
    const accum = t.config.accumulateGradBatches;
    const opt = this.optimizers[0] as tf.Optimizer;
    if (accum > 1) this.slots ??= new GradientSlots(module.parameters());
    const slots = this.slots;
    const first = !slots || slots.count === 0;
    if (stepEnd && !t.barebones) await t.hooks.callbacks('onBeforeOptimizerStep', module, opt);
    t.profiler?.start('compiledStep');
    const clip = t.config.gradientClipVal;
    const eager = () => {
      const { value, grads } = this.forwardBackward(module, batch, batchIdx, accum);
      if (!stepEnd) {
        (slots as GradientSlots).add(grads, first);
        return value;
      }
      let g = slots ? slots.total(grads, first) : grads;
      if (clip !== null) {
        const clipped = clipGradients(g, clip, t.config.gradientClipAlgorithm);
        tf.dispose(Object.values(g));
        g = clipped;
      }
      opt.applyGradients(g);
      tf.dispose(Object.values(g));
      return value;
    };
    const variant = `${first ? 'first' : 'more'}${stepEnd ? '+update' : ''}`;
    const value = (this.compiled as CompiledStep).run(module, batch, stepEnd ? opt : null, eager, variant);
    t.profiler?.stop('compiledStep');
    if (slots) slots.count = stepEnd ? 0 : slots.count + 1;
    if (stepEnd) this.afterUpdate(0);
    return value;
  }

  /**
   * DDP (or a Module whose onBeforeOptimizerStep reads the gradients): forward, loss and backward as
   * one TensorFlow function call whose outputs are the loss and every gradient; the gradients then
   * take the eager route's way (accumulation, the bucketed all-reduce, the onBeforeOptimizerStep hooks
   * with the all-reduced gradients, clipping, the update). Every rank traces and compiles alike, as
   * every rank runs the same step on equal shapes.
   */
  private async gradsCompiledStep(
    module: Module,
    batch: Batch,
    batchIdx: number,
    stepEnd: boolean,
  ): Promise<tf.Scalar> {
    const t = this.trainer;
    const accum = t.config.accumulateGradBatches;
    t.profiler?.start('compiledStep');
    const { value, grads } = (this.compiled as CompiledStep).run(
      module,
      batch,
      null,
      () => this.forwardBackward(module, batch, batchIdx, accum),
      'grads',
    );
    t.profiler?.stop('compiledStep');
    if (accum > 1) this.accumulate(grads);
    if (stepEnd)
      await this.optimizerStep(accum > 1 ? this.takeAccumulated() : grads, 0, this.ddpCompiledUpdate);
    return value;
  }

  /** Manual optimization: trainingStep drives backward and the optimizers (Module.manualStep). */
  async manual(module: Module, batch: Batch, batchIdx: number): Promise<StepLoss | null> {
    const t = this.trainer;
    if (this.compiled && !this.compiled.fallbackReason)
      this.compiled.fallBack('manual optimization (automaticOptimization = false) is not compiled');
    t.profiler?.start('trainingStep');
    const out = await module.trainingStep(batch, batchIdx);
    t.profiler?.stop('trainingStep');
    if (t.barebones || out === undefined || out === null) return null;
    const l = out instanceof tf.Tensor ? out : (out as { loss?: unknown }).loss;
    return l instanceof tf.Tensor ? new StepLoss(l as tf.Scalar, 1) : null;
  }

  /** Forward + loss and backward: the loss (divided by `accum`) and the gradients of every parameter. */
  forwardBackward(
    module: Module,
    batch: Batch,
    batchIdx: number,
    accum: number,
  ): { value: tf.Scalar; grads: tf.NamedTensorMap } {
    return tf.variableGrads(() => {
      const l = extractLoss(module.trainingStep(batch, batchIdx), module, batchIdx);
      return (accum > 1 ? tf.div(l, accum) : l) as tf.Scalar;
    }, module.parameters());
  }

  /**
   * One optimizer step: all-reduce (DDP), onBeforeOptimizerStep hooks, clipping, update; disposes `grads`.
   * Used by the automatic loop and by Module.manualStep.
   */
  async optimizerStep(
    grads: tf.NamedTensorMap,
    optimizerIndex: number,
    compiledUpdate = false,
  ): Promise<void> {
    const t = this.trainer;
    const opt = this.optimizers[optimizerIndex];
    if (!opt)
      throw new Error(`no optimizer ${optimizerIndex}: configureOptimizers() made ${this.optimizers.length}`);
    const prof = t.profiler;
    let g = grads;
    if (t.strategy.worldSize > 1) {
      prof?.start('allReduceGradients');
      g = await t.strategy.allReduceGradients(grads);
      prof?.stop('allReduceGradients');
      disposeReplaced(grads, g);
    }
    if (!t.barebones && t.module) {
      // callbacks first, then the module (which also sees the gradients), as Lightning calls them
      await t.hooks.callbacks('onBeforeOptimizerStep', t.module, opt);
      await t.hooks.module('onBeforeOptimizerStep', t.module, opt, g);
    }
    const clip = t.config.gradientClipVal;
    const update = (): undefined => {
      let u = g;
      if (clip !== null) {
        u = clipGradients(g, clip, t.config.gradientClipAlgorithm);
        tf.dispose(Object.values(g));
      }
      opt.applyGradients(u);
      tf.dispose(Object.values(u));
      return undefined;
    };
    prof?.start('optimizerStep');
    // DDP's compiled route: clipping and the update as one function of the all-reduced gradients
    if (compiledUpdate && this.compiled && t.module) {
      this.compiled.run(t.module, g, opt, update, 'update');
      tf.dispose(Object.values(g)); // the eager step frees them itself; a compiled call leaves them
    } else update();
    prof?.stop('optimizerStep');
    this.afterUpdate(optimizerIndex);
  }

  /** Counts the optimizer step and steps the step-interval schedulers due. */
  private afterUpdate(optimizerIndex: number): void {
    const loop = this.trainer.fitLoop.state;
    loop.globalStep++;
    for (const s of this.schedulers) {
      if (s.optimizerIndex === optimizerIndex && s.interval === 'step' && loop.globalStep % s.frequency === 0)
        this.stepScheduler(s);
    }
  }

  /**
   * Steps the epoch-interval schedulers due after epoch `epoch`: the plain ones after the epoch's last
   * batch (before its validation), the monitored ones (`monitored`) after the epoch-end hooks, when the
   * metric they read is final. Lightning's `update_lr_schedulers` split.
   */
  stepEpochSchedulers(epoch: number, monitored: boolean): void {
    for (const s of this.schedulers) {
      if (s.interval === 'epoch' && Boolean(s.monitor) === monitored && (epoch + 1) % s.frequency === 0)
        this.stepScheduler(s);
    }
  }

  private stepScheduler(s: ResolvedScheduler): void {
    if (!s.monitor) {
      s.scheduler.step();
      return;
    }
    const metrics = this.trainer.metrics.callbackMetrics;
    const v = metrics[s.monitor];
    if (v === undefined) {
      if (s.strict) {
        throw new Error(
          `lrScheduler monitors "${s.monitor}" but no such metric was logged (logged: ${Object.keys(metrics).join(', ') || 'none'})`,
        );
      }
      return;
    }
    s.scheduler.step(v);
  }

  accumulate(grads: tf.NamedTensorMap): void {
    if (!this.accGrads) {
      this.accGrads = {};
      for (const [k, g] of Object.entries(grads)) this.accGrads[k] = tf.keep(g);
      return;
    }
    for (const [k, g] of Object.entries(grads)) {
      const prev = this.accGrads[k];
      this.accGrads[k] = tf.keep(prev ? tf.add(prev, g) : g);
      prev?.dispose();
    }
  }

  private takeAccumulated(): tf.NamedTensorMap {
    const g = this.accGrads ?? {};
    this.accGrads = null;
    return g;
  }

  /** Drops half-accumulated gradients (a run that ends or fails mid-window). */
  disposeAccumulated(): void {
    if (this.accGrads) tf.dispose(Object.values(this.accGrads));
    this.accGrads = null;
    // the next fit makes new slots and a new compiled step (configure)
    this.slots?.dispose();
    this.slots = null;
  }
}

/**
 * A training step's loss, kept on the device past the step's tensor scope until the batch's hooks have
 * run: `value` reads it back (once) only when asked, so a loop whose hooks never look at the loss
 * never waits for it (Lightning keeps the loss a tensor in `outputs` the same way). `release` frees
 * the tensor; a value read before stays readable.
 */
export class StepLoss {
  private tensor: tf.Tensor | null;
  private read: number | null = null;

  constructor(
    tensor: tf.Tensor,
    private readonly scale: number,
  ) {
    // a tensor kept already is the step's own (stored on the Module, say): read now, never free it
    if ((tensor as tf.Tensor & { kept?: boolean }).kept === true) {
      this.tensor = null;
      this.read = tensor.dataSync()[0]! * scale;
    } else this.tensor = tf.keep(tensor);
  }

  /** the loss as a number (read back on first use) */
  get value(): number {
    if (this.read !== null) return this.read;
    if (!this.tensor)
      throw new Error(
        'outputs.loss was read after onTrainBatchEnd returned: read it inside the hook (the loss is read back lazily and freed after the batch)',
      );
    this.read = this.tensor.dataSync()[0]! * this.scale;
    return this.read;
  }

  release(): void {
    this.tensor?.dispose();
    this.tensor = null;
  }

  /** `{ loss }` as onTrainBatchEnd gets it: `loss` reads the value back when a hook reads it. */
  outputs(): { readonly loss: number | null } {
    const self = this;
    return {
      get loss(): number {
        return self.value;
      },
    };
  }
}

/**
 * A step that throws inside tf.variableGrads leaves the gradient tape's saved tensors alive (tfjs only
 * frees them after a successful backward pass); free them so a caught error leaks nothing.
 */
export function releaseTape(): void {
  const state = (
    tf.engine() as unknown as {
      state: { activeTape: { saved?: tf.Tensor[] }[] | null; gradientDepth: number };
    }
  ).state;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) if (node.saved) tf.dispose(node.saved);
  state.activeTape = null;
}

function extractLoss(out: StepOutput | Promise<StepOutput>, module: Module, batchIdx: number): tf.Tensor {
  const where = `${module.constructor.name}.trainingStep (batch ${batchIdx})`;
  if (out instanceof Promise) {
    throw new TrainingStepError(
      `${where} returned a Promise: with automatic optimization trainingStep must be synchronous`,
    );
  }
  const loss =
    out instanceof tf.Tensor
      ? out
      : out && typeof out === 'object'
        ? (out as { loss?: unknown }).loss
        : undefined;
  if (!(loss instanceof tf.Tensor)) {
    throw new TrainingStepError(
      `${where} returned ${out === undefined ? 'nothing' : describe(out)}; it must return the loss (a scalar tensor) or { loss }. ` +
        'To drive the optimizer yourself set automaticOptimization = false.',
    );
  }
  if (loss.size !== 1)
    throw new TrainingStepError(`${where}: the loss must be a scalar, got shape [${loss.shape}]`);
  return loss.rank > 0 ? loss.reshape([]) : loss;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object')
    return `an object without a "loss" tensor (keys: ${Object.keys(x as object).join(', ') || 'none'})`;
  return `${typeof x} ${String(x)}`;
}

function disposeReplaced(before: tf.NamedTensorMap, after: tf.NamedTensorMap): void {
  const keep = new Set(Object.values(after).map((t) => t.id));
  for (const t of Object.values(before)) if (!keep.has(t.id)) t.dispose();
}

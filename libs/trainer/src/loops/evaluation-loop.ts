import * as tf from '@tensorflow/tfjs';
import { CompiledStep } from '../compile/compiled-step.js';
import type { Module } from '../core/module.js';
import type { DataLoader } from '../data/dataloader.js';
import type { Batch } from '../data/dataset.js';
import { type BatchLimit, limitBatches } from '../trainer/resolved-options.js';
import type { Trainer } from '../trainer/trainer.js';

export type EvalKind = 'validate' | 'test';

/** Validation, test, the sanity check before fit, and predict: loops over a loader without gradients. */
export class EvaluationLoop {
  /**
   * The compiled validation and test steps (Trainer option `compile: { eval: true }`) of `module`:
   * its variables, by name, are the functions' inputs, so another module starts afresh.
   */
  private compiled: { module: Module; steps: Map<EvalKind, CompiledStep> } | null = null;

  constructor(private readonly trainer: Trainer) {}

  /** The compiled `kind` step for `module`, or null when evaluation steps run eagerly. */
  compiledStep(module: Module, kind: EvalKind): CompiledStep | null {
    const compile = this.trainer.config.compile;
    if (!compile?.eval) return null;
    if (this.compiled?.module !== module) {
      for (const s of this.compiled?.steps.values() ?? []) s.dispose();
      this.compiled = { module, steps: new Map() };
    }
    let step = this.compiled.steps.get(kind);
    if (!step) {
      const warn = (m: string) => process.stderr.write(`kiln: ${m}\n`);
      step = new CompiledStep(compile, warn, kind === 'validate' ? 'validation' : 'test');
      this.compiled.steps.set(kind, step);
    }
    return step;
  }

  /**
   * One pass of validationStep or testStep with Lightning's hooks: start, epoch start, batches, epoch end
   * (whose `log` calls count), then the epoch's values are reduced and logged, then end. Returns the
   * epoch-level metrics.
   */
  async run(
    module: Module,
    kind: EvalKind,
    loader: DataLoader,
    limit: BatchLimit,
    limitName: string,
  ): Promise<Record<string, number>> {
    const t = this.trainer;
    const step = kind === 'validate' ? module.validationStep : module.testStep;
    if (!step) {
      if (kind === 'test') throw new Error(`${module.constructor.name} has no testStep(batch, batchIdx)`);
      return {};
    }
    const val = kind === 'validate';
    module.training = false;
    t.metrics.kind = kind;
    t.metrics.resetEpoch(kind);
    await t.hooks.call(val ? 'onValidationStart' : 'onTestStart', module);
    await t.hooks.call(val ? 'onValidationEpochStart' : 'onTestEpochStart', module);
    // read by index: a loader shared with training (or overfitBatches) keeps its training position
    const order = loader.epochIndices(0);
    const n = limitBatches(limit, loader.batchCount(order.length), limitName);
    const label = `${kind}Step`;
    const compiled = this.compiledStep(module, kind);
    for (let i = 0; i < n; i++) {
      const done = tf.tidy(() => {
        t.profiler?.start(label);
        const batch = loader.batchAt(order, i);
        if (!batch) return true;
        t.metrics.batchSize = batchSizeOf(batch);
        if (compiled) compiled.run(module, batch, null, () => void step.call(module, batch, i), 'eval');
        else step.call(module, batch, i);
        t.profiler?.stop(label);
        return false;
      });
      if (done) break;
      await t.hooks.callbacks(val ? 'onValidationBatchEnd' : 'onTestBatchEnd', module, i);
    }
    await t.hooks.call(val ? 'onValidationEpochEnd' : 'onTestEpochEnd', module);
    const logs = await t.metrics.endEpoch(kind, (v, op) => t.strategy.reduceNumbers(v, op));
    // the sanity check's values reach no logger (Lightning: test_sanity_metrics_are_reset)
    if (!t.sanityChecking) await t.logToLoggers({ ...logs, epoch: t.fitLoop.state.epoch });
    await t.hooks.call(val ? 'onValidationEnd' : 'onTestEnd', module);
    return logs;
  }

  /**
   * A few validation batches before training, with every validation hook, so a broken validationStep
   * fails in seconds, not hours. `numSanityValSteps` is capped by `limitValBatches`; what it logs is
   * dropped afterwards.
   */
  async sanityCheck(module: Module, loader: DataLoader, numValBatches: number): Promise<void> {
    const t = this.trainer;
    const wanted = t.config.numSanityValSteps;
    const steps = wanted < 0 ? numValBatches : Math.min(wanted, numValBatches);
    if (steps === 0 || !module.validationStep) return;
    t.sanityChecking = true;
    const saved = { ...t.metrics.callbackMetrics };
    try {
      await t.hooks.callbacks('onSanityCheckStart', module);
      await this.run(module, 'validate', loader, { count: steps }, 'numSanityValSteps');
      await t.hooks.callbacks('onSanityCheckEnd', module);
    } finally {
      t.sanityChecking = false;
      for (const k of Object.keys(t.metrics.callbackMetrics)) delete t.metrics.callbackMetrics[k];
      Object.assign(t.metrics.callbackMetrics, saved);
    }
  }

  /** predictStep outputs, one per batch; the caller owns (and disposes) returned tensors. */
  async predict(module: Module, loader: DataLoader): Promise<unknown[]> {
    const t = this.trainer;
    const predictStep = module.predictStep;
    if (!predictStep) throw new Error(`${module.constructor.name} has no predictStep(batch, batchIdx)`);
    // eval mode (no dropout), whatever a fit before left it in
    module.training = false;
    await t.hooks.call('onPredictStart', module);
    const out: unknown[] = [];
    const order = loader.epochIndices(0);
    const n = limitBatches(
      t.config.limitPredictBatches,
      loader.batchCount(order.length),
      'limitPredictBatches',
    );
    for (let i = 0; i < n; i++) {
      let ended = false;
      const r = tf.tidy(() => {
        const batch = loader.batchAt(order, i);
        if (!batch) {
          ended = true;
          return undefined;
        }
        return predictStep.call(module, batch, i) as tf.TensorContainer;
      });
      if (ended) break;
      out.push(r);
    }
    await t.hooks.call('onPredictEnd', module);
    return out;
  }
}

export function batchSizeOf(batch: Batch): number {
  const first =
    batch instanceof tf.Tensor ? batch : Array.isArray(batch) ? batch[0] : Object.values(batch)[0];
  return first?.shape[0] ?? 1;
}

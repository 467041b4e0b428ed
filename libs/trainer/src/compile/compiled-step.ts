import * as tf from '@tensorflow/tfjs';
import type { Module } from '../core/module.js';
import type { Batch } from '../data/dataset.js';
import type { OpAttr } from './graph-def.js';
import { keptBy } from './kept-tensors.js';
import { drawAgain, identifyDraw, type RandomDraw } from './random-draws.js';
import { record, type StepBackend, type StepBinding, type TensorInfo } from './recorder.js';
import { buildStepGraph, type StepContext, type StepGraph } from './step-graph.js';

/** `compile` as resolved from the Trainer option. */
export interface CompileOptions {
  /** run the step function through XLA (`_XlaMustCompile`) */
  xla: boolean;
}

/** Forward and backward without the update (DDP: the gradients are all-reduced between ranks first). */
export interface LossAndGrads {
  value: tf.Scalar;
  grads: tf.NamedTensorMap;
}

/**
 * The step eager code may run instead: a training step returns its loss, a forward + backward step
 * its loss and gradients, an evaluation step nothing.
 */
type EagerStep = () => tf.Scalar | LossAndGrads | undefined;

const isLossAndGrads = (r: unknown): r is LossAndGrads =>
  r !== undefined && !(r instanceof tf.Tensor) && typeof r === 'object' && r !== null && 'grads' in r;

/** What a Kiln optimizer offers a compiled step (see optim/optimizer.ts); tfjs's own lack it. */
interface CompilableOptimizer {
  prepareCompiledStep(): void;
  compiledScalars(): Map<string, tf.Scalar>;
  resourcesInSync(): boolean;
  finishCompiledStep(): void;
}

/** Traces kept per step (shapes differ on a smaller last batch): the oldest is dropped beyond this. */
export const MAX_TRACES = 8;
/** Traces of one shape that may disagree with the previous before the step stays eager. */
const MAX_ATTEMPTS = 4;

interface LogCall {
  name: string;
  value: number | tf.Tensor;
  opts: object;
}

/** A trace: the function body and the log() calls to repeat after each call (tensors by output). */
interface Traced extends StepGraph {
  logs: { name: string; value: number | null; opts: object }[];
  /** the step's random tensors made in JavaScript (dropout masks, noise), in the order they are drawn */
  draws: RandomDraw[];
}

interface Entry {
  /** the last trace not yet confirmed by a second, equal one */
  pending: Traced | null;
  attempts: number;
  fn: { name: string; graph: Traced } | null;
}

let nextFunction = 0;

/**
 * One training step (forward, loss, backward, clipping, optimizer update; with gradient accumulation
 * a micro-step that adds its gradients to the slots, see gradient-slots.ts) run as one TensorFlow
 * function. The step first runs eagerly while tfjs-node's kernel calls are recorded; when two
 * consecutive traces of the same input shapes agree (same kernels, attributes, constants and data
 * flow), the trace is registered with TensorFlow's eager context as a function and later steps call
 * it by name: inputs are the variables, the batch, the optimizer's per-step scalars and the tensors
 * that lived before the step (resource handles); outputs are the loss, every variable's new value
 * and the values the step logged. A step that cannot be compiled runs eagerly, with one warning.
 * Validation and test steps (`compile: { eval: true }`) go the same way: no optimizer, no loss, only
 * what they log.
 */
export class CompiledStep {
  private readonly entries = new Map<string, Entry>();
  private disabled: string | null = null;
  /** steps run as the compiled function, and steps traced (for tests and the profiler) */
  compiledCalls = 0;
  traces = 0;

  constructor(
    private readonly options: CompileOptions,
    private readonly warn: (message: string) => void,
    /** which step this is: an evaluation step returns nothing and must leave no tensors behind */
    private readonly kind: 'training' | 'validation' | 'test' = 'training',
  ) {}

  /** Why every step runs eagerly from now on, or null. */
  get fallbackReason(): string | null {
    return this.disabled;
  }

  /** Stops compiling, with the one warning. */
  fallBack(reason: string): void {
    if (this.disabled) return;
    this.disabled = reason;
    this.warn(`compile: running the ${this.kind} step eagerly: ${reason}`);
    this.dispose();
  }

  /**
   * Runs the step: compiled when a function for these shapes and this `variant` exists, else `eager`
   * (traced when it can be). `eager` does the whole step and returns the loss (an evaluation step:
   * nothing). `optimizer` is the one the step updates, null for a micro-step that only accumulates
   * gradients or an evaluation step; `variant` tells apart steps that run different kernels on the
   * same shapes (first or later micro-step of a window). Returns the loss tensor.
   */
  run(
    module: Module,
    batch: Batch,
    optimizer: tf.Optimizer | null,
    eager: () => tf.Scalar,
    variant?: string,
  ): tf.Scalar;
  run(
    module: Module,
    batch: Batch,
    optimizer: tf.Optimizer | null,
    eager: () => undefined,
    variant?: string,
  ): undefined;
  /** forward + backward only: the function's outputs are the loss and every gradient (DDP) */
  run(
    module: Module,
    batch: Batch,
    optimizer: null,
    eager: () => LossAndGrads,
    variant?: string,
  ): LossAndGrads;
  run(
    module: Module,
    batch: Batch,
    optimizer: tf.Optimizer | null,
    eager: EagerStep,
    variant = '',
  ): tf.Scalar | LossAndGrads | undefined {
    if (this.disabled) return eager();
    const backend = tf.backend() as unknown as Partial<StepBackend>;
    if (tf.getBackend() !== 'tensorflow' || typeof backend.binding?.registerFunction !== 'function') {
      this.fallBack(
        tf.getBackend() === 'tensorflow'
          ? "tfjs-node's addon lacks registerFunction (rebuild it: bash scripts/tensorflow/install.sh)"
          : `the backend is '${tf.getBackend()}' (compiled steps need 'tensorflow')`,
      );
      return eager();
    }
    const nb = backend as StepBackend;
    const tensors = flattenBatch(batch);
    const kiln = optimizer && isCompilable(optimizer) ? optimizer : null;
    // tfjs's optimizers turn the learning rate into a constant of the trace: a new rate, a new trace
    const lr =
      optimizer && !kiln ? `;lr=${(optimizer as unknown as { learningRate?: number }).learningRate}` : '';
    const key = `${variant};${tensors.map((t) => `${t.dtype}[${t.shape}]`).join(';')}${lr}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { pending: null, attempts: 0, fn: null };
      this.entries.set(key, entry);
      this.evict();
    } else {
      // most recently used last
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    if (entry.fn) {
      // a parameter assigned from outside since the last step (a restore, a callback): the eager step
      // brings the optimizer's resource copies up to date; the next step is compiled again
      if (kiln && !kiln.resourcesInSync()) return eager();
      try {
        return this.call(nb, entry.fn, module, tensors, optimizer, kiln);
      } catch (err) {
        this.fallBack(`the compiled step failed (${(err as Error).message.split('\n')[0]})`);
        return eager();
      }
    }
    return this.trace(nb, entry, module, tensors, kiln, eager);
  }

  private trace(
    nb: StepBackend,
    entry: Entry,
    module: Module,
    tensors: tf.Tensor[],
    kiln: CompilableOptimizer | null,
    eager: EagerStep,
  ): tf.Scalar | LossAndGrads | undefined {
    this.traces++;
    const before: StepContext['before'] = new Map();
    const variables = tf.engine().registeredVariables;
    const startIds = new Map<string, number>();
    const info = (nb.binding as StepBinding & { tensorInfo(id: number): TensorInfo }).tensorInfo;
    for (const [name, v] of Object.entries(variables)) {
      const id = nb.getInputTensorIds([v])[0] as number;
      before.set(id, { role: { kind: 'variable', name }, info: info(id) });
      startIds.set(name, id);
    }
    nb.getInputTensorIds(tensors).forEach((id, index) => {
      if (!before.has(id)) before.set(id, { role: { kind: 'batch', index }, info: info(id) });
    });
    const logs: LogCall[] = [];
    const log = module.log;
    // values logged inside the step become outputs of the function instead of being read at once
    module.log = (name: string, value: number | tf.Tensor, opts = {}) => {
      logs.push({ name, value: value instanceof tf.Tensor ? tf.keep(value.clone()) : value, opts });
    };
    let result: tf.Scalar | LossAndGrads | undefined;
    let recording: ReturnType<typeof record>['recording'];
    let kept: tf.Tensor[];
    try {
      ({
        result: { result, kept },
        recording,
      } = record(nb, () => keptBy(eager)));
    } catch (err) {
      tf.dispose(logs.map((l) => l.value).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
      throw err;
    } finally {
      delete (module as Partial<Module>).log; // the prototype's log again
      if (module.log !== log) module.log = log;
    }
    try {
      const graph = this.graphOf(nb, recording, before, startIds, result, logs, kiln);
      if ('reason' in graph) this.retry(entry, graph.reason, true);
      else if (entry.pending?.signature !== graph.signature)
        this.retry(
          entry,
          'two traces of the step differ (random values or JavaScript state change between steps)',
          false,
          graph,
        );
      else {
        // what the step keeps besides the values it logged and the optimizer's cached scalars (the
        // optimizer's state, made by its first update, is never in a confirming trace)
        const expected = new Set<tf.Tensor>([
          ...logs.map((l) => l.value).filter((v): v is tf.Tensor => v instanceof tf.Tensor),
          ...(kiln?.compiledScalars().values() ?? []),
        ]);
        const keeps = kept.filter((t) => !expected.has(t)).length;
        if (keeps === 0) this.register(nb, entry, graph);
        else
          this.retry(
            entry,
            `the step keeps ${keeps} tensor(s) past its end (tf.keep), which a compiled call would not make`,
            true,
          );
      }
    } finally {
      for (const l of logs) log.call(module, l.name, l.value, l.opts as never);
      tf.dispose(logs.map((l) => l.value).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
    }
    return result;
  }

  private graphOf(
    nb: StepBackend,
    recording: ReturnType<typeof record>['recording'],
    before: StepContext['before'],
    startIds: Map<string, number>,
    result: tf.Scalar | LossAndGrads | undefined,
    logs: LogCall[],
    kiln: CompilableOptimizer | null,
  ): Traced | { reason: string } {
    const variables = tf.engine().registeredVariables;
    const created = Object.keys(variables).filter((n) => !startIds.has(n));
    if (created.length > 0)
      return { reason: `the step created variables (${created.slice(0, 3).join(', ')})` };
    const loss = isLossAndGrads(result) ? result.value : result;
    const results: { role: import('./step-graph.js').OutputRole; id: number }[] = loss
      ? [{ role: { kind: 'loss' }, id: nb.getInputTensorIds([loss])[0] as number }]
      : [];
    if (isLossAndGrads(result))
      for (const [name, g] of Object.entries(result.grads))
        results.push({ role: { kind: 'grad', name }, id: nb.getInputTensorIds([g])[0] as number });
    for (const [name, v] of Object.entries(variables)) {
      const id = nb.getInputTensorIds([v])[0] as number;
      if (id !== startIds.get(name)) results.push({ role: { kind: 'variable', name }, id });
    }
    logs.forEach((l, index) => {
      if (l.value instanceof tf.Tensor)
        results.push({ role: { kind: 'log', index }, id: nb.getInputTensorIds([l.value])[0] as number });
    });
    const scalars = new Map<number, string>();
    if (kiln)
      for (const [k, t] of kiln.compiledScalars()) scalars.set(nb.getInputTensorIds([t])[0] as number, k);
    const binding = nb.binding as StepBinding & {
      tensorInfo(id: number): { id: number; shape: number[]; dtype: number };
    };
    // tensors seeded by a Math.random() draw that a tfjs random op makes again from that seed are the
    // step's random draws: inputs drawn anew before every call, in the same order, from the same
    // Math.random stream (Kiln's seeded generator under seedEverything) as eager steps draw
    const draws: RandomDraw[] = [];
    for (const c of recording.created.values()) {
      const draw = identifyDraw(c, nb.binding.TF_FLOAT);
      if (draw) {
        c.draw = draws.length;
        draws.push(draw);
      }
    }
    const graph = buildStepGraph(recording, {
      before,
      scalars,
      results,
      info: (id) => binding.tensorInfo(id),
    });
    if ('reason' in graph) return graph;
    const templates = logs.map((l) => ({
      name: l.name,
      value: l.value instanceof tf.Tensor ? null : l.value,
      opts: l.opts,
    }));
    // numbers logged are part of what must repeat
    return {
      ...graph,
      logs: templates,
      draws,
      signature: graph.signature + JSON.stringify([templates, draws]),
    };
  }

  private retry(entry: Entry, reason: string, final: boolean, graph?: Traced): void {
    entry.attempts++;
    entry.pending = graph ?? null;
    if (final && /reads|keeps|unsupported|not computed/.test(reason)) this.fallBack(reason);
    else if (entry.attempts >= MAX_ATTEMPTS) this.fallBack(reason);
  }

  private register(nb: StepBackend, entry: Entry, graph: Traced): void {
    const name = `kiln_train_step_${process.pid}_${nextFunction++}`;
    try {
      nb.binding.registerFunction?.(
        name,
        graph.graphDef,
        graph.inputNames,
        graph.outputRefs,
        graph.controlOutputs,
      );
    } catch (err) {
      this.fallBack(`TensorFlow refused the traced step (${(err as Error).message.split('\n')[0]})`);
      return;
    }
    entry.fn = { name, graph };
    entry.pending = null;
  }

  private call(
    nb: StepBackend,
    fn: { name: string; graph: Traced },
    module: Module,
    batch: tf.Tensor[],
    optimizer: tf.Optimizer | null,
    kiln: CompilableOptimizer | null,
  ): tf.Scalar | LossAndGrads | undefined {
    kiln?.prepareCompiledStep();
    const scalars = kiln?.compiledScalars();
    const variables = tf.engine().registeredVariables;
    // each consumes one Math.random(), as the eager step's random op did
    const drawn = fn.graph.draws.map((d) => drawAgain(d));
    const ids = fn.graph.inputs.map((role) => {
      if (role.kind === 'stable') return role.id;
      if (role.kind === 'random') return nb.getInputTensorIds([drawn[role.index]])[0] as number;
      const t =
        role.kind === 'variable'
          ? variables[role.name]
          : role.kind === 'batch'
            ? batch[role.index]
            : scalars?.get(role.key);
      if (!t) throw new Error(`input ${JSON.stringify(role)} is gone`);
      return nb.getInputTensorIds([t])[0] as number;
    });
    const attrs: OpAttr[] = this.options.xla
      ? [{ name: '_XlaMustCompile', type: nb.binding.TF_ATTR_BOOL, value: true }]
      : [];
    const infos = nb.binding.executeOp(fn.name, attrs, ids, fn.graph.outputs.length);
    tf.dispose(drawn);
    const outs = infos.map((i) => nb.createOutputTensor(i));
    let loss: tf.Tensor | undefined;
    let grads: tf.NamedTensorMap | null = null;
    const logged = new Map<number, tf.Tensor>();
    fn.graph.outputs.forEach((role, j) => {
      const t = outs[j] as tf.Tensor;
      if (role.kind === 'loss') loss = t;
      else if (role.kind === 'grad') {
        grads ??= {};
        grads[role.name] = t;
      } else if (role.kind === 'variable') {
        (variables[role.name] as tf.Variable).assign(t);
        t.dispose();
      } else logged.set(role.index, t);
    });
    if (kiln) kiln.finishCompiledStep();
    else (optimizer as unknown as { incrementIterations(): void } | null)?.incrementIterations();
    fn.graph.logs.forEach((l, index) => {
      const v = logged.get(index) ?? l.value;
      if (v !== null) module.log(l.name, v, l.opts as never);
    });
    tf.dispose([...logged.values()]);
    this.compiledCalls++;
    if (grads) return { value: loss as tf.Scalar, grads };
    return loss as tf.Scalar | undefined;
  }

  private evict(): void {
    while (this.entries.size > MAX_TRACES) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(oldest);
      if (entry.fn) this.remove(entry.fn.name);
    }
  }

  private remove(name: string): void {
    const b = (tf.findBackend('tensorflow') as unknown as Partial<StepBackend> | null)?.binding;
    try {
      b?.removeFunction?.(name);
    } catch {
      // already gone with the context
    }
  }

  /** Removes every registered function. */
  dispose(): void {
    for (const e of this.entries.values()) if (e.fn) this.remove(e.fn.name);
    this.entries.clear();
  }
}

/** Whether a tensor made during the step is tf.randomUniform(shape, 0, 1, 'float32') seeded with its seed. */
function isCompilable(o: tf.Optimizer): o is tf.Optimizer & CompilableOptimizer {
  return typeof (o as Partial<CompilableOptimizer>).prepareCompiledStep === 'function';
}

/** The batch's tensors in a fixed order (arrays by position, objects by sorted key). */
export function flattenBatch(batch: Batch): tf.Tensor[] {
  if (batch instanceof tf.Tensor) return [batch];
  if (Array.isArray(batch)) return batch.flatMap((b) => flattenBatch(b));
  return Object.keys(batch)
    .sort()
    .flatMap((k) => flattenBatch((batch as Record<string, tf.Tensor>)[k] as tf.Tensor));
}

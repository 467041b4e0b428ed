import * as tf from '@tensorflow/tfjs';
import { CHECKPOINT_FORMAT_VERSION, CheckpointError } from '../checkpoint/format.js';
import type { CheckpointState, StoredTensor, TensorDType } from '../checkpoint/state.js';
import type { Module } from '../core/module.js';

async function store(t: tf.Tensor): Promise<StoredTensor> {
  const data = await t.data();
  // the cpu backend hands out its own storage: copy so later steps cannot change a pending save
  const values =
    t.dtype === 'bool' ? Uint8Array.from(data as Uint8Array) : (data as Float32Array | Int32Array).slice();
  return { dtype: t.dtype as TensorDType, shape: [...t.shape], values };
}

/** Weights under `weights/<name>`; returns the names in module order. */
export async function saveWeights(module: Module, tensors: Map<string, StoredTensor>): Promise<string[]> {
  const names: string[] = [];
  for (const { name, variable } of module.namedVariables()) {
    if (tensors.has(`weights/${name}`))
      throw new Error(`two variables are both named "${name}" in the module`);
    tensors.set(`weights/${name}`, await store(variable));
    names.push(name);
  }
  return names;
}

/**
 * Optimizer state: tfjs's own getWeights (iteration count + slot variables, in parameter order) plus
 * any other tf.Variable the optimizer holds (Adam's running beta powers, which setWeights would
 * otherwise recompute with pow() and so differ in the last bits from the product a live run has).
 */
export async function saveOptimizers(
  optimizers: tf.Optimizer[],
  tensors: Map<string, StoredTensor>,
): Promise<CheckpointState['optimizers']> {
  const out: CheckpointState['optimizers'] = [];
  for (const [i, opt] of optimizers.entries()) {
    let weights: { name: string; tensor: tf.Tensor }[];
    try {
      weights = await opt.getWeights();
    } catch (err) {
      throw new Error(
        `cannot checkpoint optimizer ${opt.getClassName()}: ${(err as Error).message} (use Adam, SGD, Momentum, RMSProp, Adagrad or Adadelta)`,
      );
    }
    const slotNames: string[] = [];
    for (const [j, w] of weights.entries()) {
      tensors.set(`optimizer/${i}/slot/${j}`, await store(w.tensor));
      slotNames.push(w.name);
      if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
    }
    const extraNames: string[] = [];
    for (const [key, value] of Object.entries(opt)) {
      if (value instanceof tf.Variable) {
        tensors.set(`optimizer/${i}/extra/${key}`, await store(value));
        extraNames.push(key);
      }
    }
    out.push({ className: opt.getClassName(), slotNames, extraNames });
  }
  return out;
}

function toTensor(t: StoredTensor): tf.Tensor {
  return tf.tensor(t.values, t.shape, t.dtype);
}

function need(state: CheckpointState, path: string, key: string): StoredTensor {
  const t = state.tensors.get(key);
  if (!t) throw new CheckpointError(path, `missing tensor "${key}"`);
  return t;
}

export function restoreWeights(module: Module, state: CheckpointState, path: string): void {
  const vars = module.namedVariables();
  const have = new Set(state.weightNames);
  const missing = vars.filter((v) => !have.has(v.name)).map((v) => v.name);
  const wanted = new Set(vars.map((v) => v.name));
  const unexpected = state.weightNames.filter((n) => !wanted.has(n));
  if (missing.length || unexpected.length) {
    throw new CheckpointError(
      path,
      `weights do not match the module: ${missing.length ? `missing ${missing.join(', ')}` : ''}${missing.length && unexpected.length ? '; ' : ''}${unexpected.length ? `not in the module ${unexpected.join(', ')}` : ''}`,
    );
  }
  for (const { name, variable } of vars) {
    const t = need(state, path, `weights/${name}`);
    if (t.shape.join(',') !== variable.shape.join(',') || t.dtype !== variable.dtype) {
      throw new CheckpointError(
        path,
        `weight "${name}" is ${t.dtype}[${t.shape}] in the checkpoint but ${variable.dtype}[${variable.shape}] in the module`,
      );
    }
  }
  tf.tidy(() => {
    for (const { name, variable } of vars) variable.assign(toTensor(state.tensors.get(`weights/${name}`)!));
  });
}

export async function restoreOptimizers(
  optimizers: tf.Optimizer[],
  state: CheckpointState,
  path: string,
): Promise<void> {
  if (state.optimizers.length !== optimizers.length) {
    throw new CheckpointError(
      path,
      `holds ${state.optimizers.length} optimizer(s) but configureOptimizers() made ${optimizers.length}`,
    );
  }
  for (const [i, opt] of optimizers.entries()) {
    const saved = state.optimizers[i]!;
    if (saved.className !== opt.getClassName()) {
      throw new CheckpointError(
        path,
        `optimizer ${i} is ${saved.className} in the checkpoint but ${opt.getClassName()} now`,
      );
    }
    const named = saved.slotNames.map((name, j) => ({
      name,
      tensor: toTensor(need(state, path, `optimizer/${i}/slot/${j}`)),
    }));
    await opt.setWeights(named);
    tf.dispose(named.map((n) => n.tensor));
    for (const key of saved.extraNames) {
      const v = (opt as unknown as Record<string, unknown>)[key];
      if (v instanceof tf.Variable)
        tf.tidy(() => v.assign(toTensor(need(state, path, `optimizer/${i}/extra/${key}`))));
    }
  }
}

export function emptyState(): CheckpointState {
  return {
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    loop: { epoch: 0, globalStep: 0, batchPosition: 0, epochFinished: false, epochMetrics: {} },
    hparams: {},
    weightNames: [],
    optimizers: [],
    schedulers: [],
    callbacks: {},
    dataLoader: null,
    dataModule: null,
    rng: { global: null },
    metrics: {},
    extra: {},
    tensors: new Map(),
  };
}

import * as tf from '@tensorflow/tfjs';

/** tfjs's optimizer weight entry (not exported by @tensorflow/tfjs). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

import { type NativeBackend, nativeBackend, ResourceVariable } from './native.js';
import { nonNegative } from './options.js';

/** One parameter's state on native TensorFlow: the parameter mirrored as a resource, and its slots. */
export interface NativeParam {
  variable: tf.Variable;
  resource: ResourceVariable;
  slots: ResourceVariable[];
  grad: tf.Tensor;
}

/** One parameter's state on any other backend: slots as tfjs variables. */
export interface GenericParam {
  variable: tf.Variable;
  slots: tf.Variable[];
  grad: tf.Tensor;
}

type State =
  | { mode: 'native'; resource: ResourceVariable; slots: ResourceVariable[] }
  | { mode: 'generic'; slots: tf.Variable[] };

/**
 * Base of Kiln's optimizers: a tf.Optimizer (so `configureOptimizers`, `minimize`, the LR schedulers
 * and checkpoints treat it like tfjs's own) whose step runs TensorFlow's fused training ops on the
 * `tensorflow` backend and plain tfjs ops elsewhere. Scalars (lr, betas, …) are tensors cached by value,
 * not made anew for every parameter on every step.
 */
export abstract class KilnOptimizer extends tf.Optimizer {
  /** suffixes of the per-parameter slots, in checkpoint order (tfjs's names: `<var>/m`, `<var>/v`, …) */
  protected abstract readonly slotSuffixes: readonly string[];
  private lr: number;
  private readonly states = new Map<string, State>();
  private readonly scalars = new Map<string, { value: number; tensor: tf.Scalar }>();

  constructor(lr: unknown) {
    super();
    this.lr = nonNegative((new.target as unknown as { className: string }).className, 'lr', lr);
  }

  /** The field LR schedulers read and write (see optim/lr.ts). */
  get learningRate(): number {
    return this.lr;
  }
  set learningRate(v: number) {
    this.lr = nonNegative(this.getClassName(), 'lr', v);
  }

  protected abstract stepNative(nb: NativeBackend, params: NativeParam[], step: number): void;
  protected abstract stepGeneric(params: GenericParam[], step: number): void;

  /** A float32 scalar holding `value`, kept until the value under `key` changes. */
  protected scalar(key: string, value: number): tf.Scalar {
    const hit = this.scalars.get(key);
    if (hit && hit.value === value) return hit.tensor;
    hit?.tensor.dispose();
    const tensor = tf.keep(tf.scalar(value));
    this.scalars.set(key, { value, tensor });
    return tensor;
  }

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const pairs: [string, tf.Tensor | null | undefined][] = Array.isArray(variableGradients)
      ? variableGradients.map((g) => [g.name, g.tensor])
      : Object.entries(variableGradients);
    const nb = nativeBackend();
    const step = this.iterations + 1;
    const native: NativeParam[] = [];
    const generic: GenericParam[] = [];
    for (const [name, grad] of pairs) {
      if (grad == null) continue;
      const variable = this.variableNamed(name);
      const state = this.stateFor(name, variable, nb);
      if (state.mode === 'native')
        native.push({ variable, resource: state.resource, slots: state.slots, grad });
      else generic.push({ variable, slots: state.slots, grad });
    }
    tf.tidy(() => {
      if (native.length) this.stepNative(nb as NativeBackend, native, step);
      if (generic.length) this.stepGeneric(generic, step);
    });
    this.incrementIterations();
  }

  private variableNamed(name: string): tf.Variable {
    const variable = tf.engine().registeredVariables[name];
    if (!variable)
      throw new Error(`${this.getClassName()}: no variable named "${name}" (a gradient names it)`);
    if (variable.dtype !== 'float32')
      throw new Error(
        `${this.getClassName()}: variable "${name}" is ${variable.dtype}; only float32 is trained`,
      );
    return variable;
  }

  /** The parameter's state on the active backend, created (zeros) or moved there if needed. */
  private stateFor(
    name: string,
    variable: tf.Variable,
    nb: NativeBackend | undefined,
    init?: tf.Tensor[],
  ): State {
    const mode = nb ? 'native' : 'generic';
    let state = this.states.get(name);
    if (state && state.mode !== mode) {
      // the backend changed under a live optimizer: carry the slot values over
      const values = this.readSlots(state);
      disposeState(state);
      this.states.delete(name);
      state = this.stateFor(name, variable, nb, values);
      tf.dispose(values);
      return state;
    }
    if (state) return state;
    // built outside tf.tidy: tidy would walk the returned objects, backend included, for tensors
    const zeros: tf.Tensor[] = [];
    const initial = (i: number) => init?.[i] ?? zeros[zeros.push(tf.zerosLike(variable)) - 1]!;
    state = nb
      ? {
          mode: 'native',
          resource: new ResourceVariable(nb, variable.shape, variable),
          slots: this.slotSuffixes.map((_, i) => new ResourceVariable(nb, variable.shape, initial(i))),
        }
      : { mode: 'generic', slots: this.slotSuffixes.map((_, i) => tf.variable(initial(i), false)) };
    tf.dispose(zeros);
    this.states.set(name, state);
    return state;
  }

  private readSlots(state: State): tf.Tensor[] {
    return state.mode === 'native' ? state.slots.map((s) => s.read()) : state.slots.map((s) => s.clone());
  }

  /** `iter`, then every slot of every parameter (all first slots, then all second slots, as tfjs does). */
  override async getWeights(): Promise<NamedTensor[]> {
    const out: NamedTensor[] = [{ name: 'iter', tensor: tf.scalar(this.iterations, 'int32') }];
    this.slotSuffixes.forEach((suffix, i) => {
      for (const [name, state] of this.states) {
        const tensor = state.mode === 'native' ? (state.slots[i] as ResourceVariable).read() : state.slots[i];
        out.push({ name: `${name}/${suffix}`, tensor: tensor as tf.Tensor });
      }
    });
    return out;
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const [iter, ...slots] = weightValues;
    if (iter?.name !== 'iter')
      throw new Error(
        `${this.getClassName()}.setWeights: the first weight must be "iter", got ${iter?.name}`,
      );
    this.iterations_ = (await iter.tensor.data())[0] as number;
    const nb = nativeBackend();
    for (const { name, tensor } of slots) {
      const cut = name.lastIndexOf('/');
      const varName = name.slice(0, cut);
      const i = this.slotSuffixes.indexOf(name.slice(cut + 1));
      if (cut < 0 || i < 0)
        throw new Error(
          `${this.getClassName()}.setWeights: "${name}" is not <variable>/<${this.slotSuffixes.join('|')}>`,
        );
      const variable = this.variableNamed(varName);
      if (tensor.shape.join(',') !== variable.shape.join(','))
        throw new Error(
          `${this.getClassName()}.setWeights: "${name}" has shape [${tensor.shape}] but variable "${varName}" has [${variable.shape}]`,
        );
      const state = this.stateFor(varName, variable, nb);
      if (state.mode === 'native') (state.slots[i] as ResourceVariable).assign(tensor);
      else (state.slots[i] as tf.Variable).assign(tensor);
    }
  }

  override dispose(): void {
    for (const state of this.states.values()) disposeState(state);
    this.states.clear();
    for (const { tensor } of this.scalars.values()) tensor.dispose();
    this.scalars.clear();
  }
}

function disposeState(state: State): void {
  if (state.mode === 'native') {
    state.resource.dispose();
    for (const s of state.slots) s.dispose();
  } else tf.dispose(state.slots);
}

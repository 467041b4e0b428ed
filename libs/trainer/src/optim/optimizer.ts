import * as tf from '@tensorflow/tfjs';
import { type NativeBackend, nativeBackend, ResourceVariable } from './native.js';
import { nonNegative } from './options.js';

/** tfjs's optimizer weight entry (not exported by @tensorflow/tfjs). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

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

type State = { name: string } & (
  | { mode: 'native'; resource: ResourceVariable; slots: ResourceVariable[] }
  | { mode: 'generic'; slots: tf.Variable[] }
);

/**
 * Base of Kiln's optimizers: a tf.Optimizer (so `configureOptimizers`, `minimize`, the LR schedulers
 * and checkpoints treat it like tfjs's own) whose step runs TensorFlow's fused training ops on the
 * `tensorflow` backend and plain tfjs ops elsewhere. Scalars (lr, betas, …) are tensors cached by value,
 * not made anew for every parameter on every step.
 *
 * Slots belong to a parameter's position in the gradient list, as in tfjs: a resumed run builds a fresh
 * model whose variables have new names, and its i-th parameter takes the i-th saved slots.
 */
export abstract class KilnOptimizer extends tf.Optimizer {
  /** suffixes of the per-parameter slots, in checkpoint order (tfjs's names: `<var>/m`, `<var>/v`, …) */
  protected abstract readonly slotSuffixes: readonly string[];
  private lr: number;
  private readonly states: (State | undefined)[] = [];
  /** slot values restored before the first step, by position: taken when that parameter first steps */
  private readonly pending: ({ name: string; values: tf.Tensor[] } | undefined)[] = [];
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
  /** Makes the cached scalars stepNative will use at `step` (a compiled step feeds them as inputs). */
  protected abstract prepareScalars(step: number): void;
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

  // ---- compiled steps (compile/compiled-step.ts): the step runs as a TensorFlow function ----

  /** Brings the per-step scalars (lr, bias corrections) up to the coming step, without running it. */
  prepareCompiledStep(): void {
    this.prepareScalars(this.iterations + 1);
  }

  /** The cached scalars by key: the compiled step's inputs that change between steps. */
  compiledScalars(): Map<string, tf.Scalar> {
    return new Map([...this.scalars].map(([k, { tensor }]) => [k, tensor]));
  }

  /** Whether every resource variable holds its parameter's current value (nothing assigned since). */
  resourcesInSync(): boolean {
    const vars = tf.engine().registeredVariables;
    return this.states.every((s) => s?.mode !== 'native' || s.resource.holds(vars[s.name]));
  }

  /** After a compiled step: count it and note that resources and parameters agree again. */
  finishCompiledStep(): void {
    const vars = tf.engine().registeredVariables;
    for (const s of this.states) if (s?.mode === 'native' && vars[s.name]) s.resource.markHeld(vars[s.name]!);
    this.incrementIterations();
  }

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const pairs: [string, tf.Tensor | null | undefined][] = Array.isArray(variableGradients)
      ? variableGradients.map((g) => [g.name, g.tensor])
      : Object.entries(variableGradients);
    const nb = nativeBackend();
    const step = this.iterations + 1;
    const native: NativeParam[] = [];
    const generic: GenericParam[] = [];
    pairs.forEach(([name, grad], i) => {
      if (grad == null) return;
      const variable = this.variableNamed(name);
      const state = this.stateAt(i, variable, nb);
      if (state.mode === 'native')
        native.push({ variable, resource: state.resource, slots: state.slots, grad });
      else generic.push({ variable, slots: state.slots, grad });
    });
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

  /** Position i's state on the active backend: made from restored values or zeros, or moved there. */
  private stateAt(i: number, variable: tf.Variable, nb: NativeBackend | undefined): State {
    const mode = nb ? 'native' : 'generic';
    const state = this.states[i];
    if (state?.mode === mode) return state;
    let init: tf.Tensor[] | undefined;
    if (state) {
      // the backend changed under a live optimizer: carry the slot values over
      init = this.readSlots(state);
      disposeState(state);
    } else if (this.pending[i]) {
      init = this.pending[i].values;
      this.pending[i] = undefined;
      for (const [j, t] of init.entries()) {
        if (t.shape.join(',') !== variable.shape.join(','))
          throw new Error(
            `${this.getClassName()}: restored slot "${this.slotSuffixes[j]}" of parameter ${i} has shape [${t.shape}] but variable "${variable.name}" has [${variable.shape}]`,
          );
      }
    }
    // built outside tf.tidy: tidy would walk the returned objects, backend included, for tensors
    const zeros: tf.Tensor[] = [];
    const initial = (j: number) => init?.[j] ?? zeros[zeros.push(tf.zerosLike(variable)) - 1]!;
    const made: State = nb
      ? {
          name: variable.name,
          mode: 'native',
          resource: new ResourceVariable(nb, variable.shape, variable),
          slots: this.slotSuffixes.map((_, j) => new ResourceVariable(nb, variable.shape, initial(j))),
        }
      : {
          name: variable.name,
          mode: 'generic',
          slots: this.slotSuffixes.map((_, j) => tf.variable(initial(j), false)),
        };
    tf.dispose(zeros);
    if (init) tf.dispose(init);
    this.states[i] = made;
    return made;
  }

  private readSlots(state: State): tf.Tensor[] {
    return state.mode === 'native' ? state.slots.map((s) => s.read()) : state.slots.map((s) => s.clone());
  }

  /**
   * `iter`, then every slot of every parameter (all first slots, then all second slots, as tfjs does).
   * Tensors that are not tf.Variables are the caller's to dispose.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    const out: NamedTensor[] = [{ name: 'iter', tensor: tf.scalar(this.iterations, 'int32') }];
    const n = Math.max(this.states.length, this.pending.length);
    this.slotSuffixes.forEach((suffix, j) => {
      for (let i = 0; i < n; i++) {
        const state = this.states[i];
        const pending = this.pending[i];
        if (state) {
          const tensor =
            state.mode === 'native' ? (state.slots[j] as ResourceVariable).read() : state.slots[j];
          out.push({ name: `${state.name}/${suffix}`, tensor: tensor as tf.Tensor });
        } else if (pending) {
          out.push({ name: `${pending.name}/${suffix}`, tensor: (pending.values[j] as tf.Tensor).clone() });
        }
      }
    });
    return out;
  }

  /** Restores what getWeights returned (or what tfjs's optimizer of the same kind saved). */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const [iter, ...slots] = weightValues;
    const cls = this.getClassName();
    if (iter?.name !== 'iter')
      throw new Error(
        `${cls}.setWeights: the first weight must be "iter", got ${JSON.stringify(iter?.name)}`,
      );
    const k = this.slotSuffixes.length;
    if (k === 0 ? slots.length !== 0 : slots.length % k !== 0)
      throw new Error(
        `${cls}.setWeights: ${slots.length} slot tensors is not a multiple of ${k} (${this.slotSuffixes.join(', ')} per parameter)`,
      );
    const perSlot = k === 0 ? 0 : slots.length / k;
    slots.forEach(({ name }, n) => {
      const suffix = this.slotSuffixes[Math.floor(n / perSlot)];
      if (!name.endsWith(`/${suffix}`))
        throw new Error(`${cls}.setWeights: weight ${n + 1} should be "<variable>/${suffix}", got "${name}"`);
    });
    this.iterations_ = (await iter.tensor.data())[0] as number;
    for (let i = 0; i < perSlot; i++) {
      const values = this.slotSuffixes.map((_, j) => (slots[j * perSlot + i] as NamedTensor).tensor);
      const state = this.states[i];
      if (!state) {
        const old = this.pending[i];
        if (old) tf.dispose(old.values);
        const name = (slots[i] as NamedTensor).name.replace(/\/[^/]*$/, '');
        this.pending[i] = { name, values: values.map((t) => tf.keep(t.clone())) };
        continue;
      }
      values.forEach((t, j) => {
        const slot = state.slots[j] as tf.Variable | ResourceVariable;
        if (t.shape.join(',') !== slot.shape.join(','))
          throw new Error(
            `${cls}.setWeights: slot "${(slots[j * perSlot + i] as NamedTensor).name}" has shape [${t.shape}] but parameter ${i} ("${state.name}") has [${slot.shape}]`,
          );
        slot.assign(t);
      });
    }
  }

  override dispose(): void {
    for (const state of this.states) if (state) disposeState(state);
    this.states.length = 0;
    for (const p of this.pending) if (p) tf.dispose(p.values);
    this.pending.length = 0;
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

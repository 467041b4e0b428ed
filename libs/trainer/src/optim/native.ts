import * as tf from '@tensorflow/tfjs';

/**
 * TensorFlow's own fused training ops (ResourceApplyAdam, ResourceApplyMomentum, …) run eagerly
 * through tfjs-node's binding. They update resource variables in place, so an Adam step is one kernel
 * per parameter instead of tfjs's dozen element-wise kernels, each allocating its output.
 *
 * tfjs-node represents a DT_RESOURCE handle as a 'string' tensor; the binding passes it back to ops
 * untouched. Resource variables copy on write: when a tfjs tensor still shares a variable's buffer, the
 * update copies first, so tfjs's immutable tensors never change under it.
 */

interface Attr {
  name: string;
  type: number;
  value: unknown;
}

interface Binding {
  TF_FLOAT: number;
  TF_RESOURCE: number;
  TF_ATTR_STRING: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_SHAPE: number;
  TF_ATTR_BOOL: number;
}

/** What tfjs-node's backend (NodeJSKernelBackend) offers beyond tfjs-core's KernelBackend. */
export interface NativeBackend {
  binding: Binding;
  executeSingleOutput(name: string, attrs: Attr[], inputs: tf.Tensor[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: Attr[], inputs: tf.Tensor[], numOutputs: number): tf.Tensor[];
}

/** The active backend when it is native TensorFlow with raw-op access; undefined otherwise. */
export function nativeBackend(): NativeBackend | undefined {
  if (tf.getBackend() !== 'tensorflow') return undefined;
  const b = tf.backend() as unknown as Partial<NativeBackend>;
  if (typeof b.executeMultipleOutputs !== 'function' || typeof b.binding?.TF_RESOURCE !== 'number')
    return undefined;
  return b as NativeBackend;
}

let opCount = 0;
/** Raw TensorFlow ops run by Kiln's optimizers so far (tf.profile does not see them). */
export function nativeOpCount(): number {
  return opCount;
}

let nextId = 0;

/** Runs `name` for its effect on resource variables (no outputs). */
export function runOp(nb: NativeBackend, name: string, attrs: Attr[], inputs: tf.Tensor[]): void {
  opCount++;
  nb.executeMultipleOutputs(name, attrs, inputs, 0);
}

function floatType(nb: NativeBackend, name: string): Attr {
  return { name, type: nb.binding.TF_ATTR_TYPE, value: nb.binding.TF_FLOAT };
}

export function applyAttrs(nb: NativeBackend, nesterov?: boolean): Attr[] {
  const attrs = [floatType(nb, 'T'), { name: 'use_locking', type: nb.binding.TF_ATTR_BOOL, value: false }];
  if (nesterov !== undefined)
    attrs.push({ name: 'use_nesterov', type: nb.binding.TF_ATTR_BOOL, value: nesterov });
  return attrs;
}

/** A float32 variable living in TensorFlow's resource manager, owned by one optimizer. */
export class ResourceVariable {
  readonly handle: tf.Tensor;
  /** the tfjs tensor data last written to or read from this variable (skips redundant assigns) */
  private lastDataId: object | undefined;

  constructor(
    private readonly nb: NativeBackend,
    readonly shape: number[],
    initial: tf.Tensor,
  ) {
    const { binding: b } = nb;
    opCount++;
    // a unique shared_name per variable: handles with equal names would alias one variable
    this.handle = tf.keep(
      nb.executeSingleOutput(
        'VarHandleOp',
        [
          { name: 'container', type: b.TF_ATTR_STRING, value: '' },
          { name: 'shared_name', type: b.TF_ATTR_STRING, value: `kiln_optim_${process.pid}_${nextId++}` },
          floatType(nb, 'dtype'),
          { name: 'shape', type: b.TF_ATTR_SHAPE, value: shape },
        ],
        [],
      ),
    );
    this.assign(initial);
  }

  assign(value: tf.Tensor): void {
    runOp(this.nb, 'AssignVariableOp', [floatType(this.nb, 'dtype')], [this.handle, value]);
    this.lastDataId = value.dataId;
  }

  /** Makes the variable hold `v`'s value unless it already does (v unchanged since the last sync). */
  syncFrom(v: tf.Variable): void {
    if (v.dataId !== this.lastDataId) this.assign(v);
  }

  /** Whether the variable holds `v`'s current value (as of the last sync or write). */
  holds(v: tf.Variable | undefined): boolean {
    return v !== undefined && v.dataId === this.lastDataId;
  }

  /** Records that `v` now holds this variable's value (a compiled step wrote it). */
  markHeld(v: tf.Variable): void {
    this.lastDataId = v.dataId;
  }

  read(): tf.Tensor {
    opCount++;
    return this.nb.executeSingleOutput('ReadVariableOp', [floatType(this.nb, 'dtype')], [this.handle]);
  }

  /** Makes the tfjs variable `v` hold this variable's value (shares the buffer, no copy). */
  writeTo(v: tf.Variable): void {
    const t = this.read();
    v.assign(t);
    t.dispose();
    this.lastDataId = v.dataId;
  }

  dispose(): void {
    runOp(
      this.nb,
      'DestroyResourceOp',
      [{ name: 'ignore_lookup_error', type: this.nb.binding.TF_ATTR_BOOL, value: true }],
      [this.handle],
    );
    this.handle.dispose();
  }
}

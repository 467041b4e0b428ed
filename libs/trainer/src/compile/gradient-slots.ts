import * as tf from '@tensorflow/tfjs';

let serial = 0;

/**
 * Gradient accumulation for compiled steps. The running sum lives in non-trainable tf.Variables, one
 * per parameter, made before the first step: a traced micro-step then reads and writes it like a
 * parameter (an input by name, its new value an output), where gradients held in plain tensors
 * between steps would be frozen into the trace. The arithmetic is the eager loop's
 * (`Optimization.accumulate`): the window's first gradients as they are, then one sum per micro-step,
 * so compiled and eager runs add in the same order.
 */
export class GradientSlots {
  /** micro-steps summed since the last optimizer step (kept by the caller: a compiled call runs no JavaScript) */
  count = 0;
  private readonly slots = new Map<string, tf.Variable>();

  constructor(params: tf.Variable[]) {
    // a fresh suffix per fit: a variable name is registered once per process
    const suffix = `kiln_accumulated_${serial++}`;
    for (const p of params) {
      const zeros = tf.zerosLike(p);
      this.slots.set(p.name, tf.variable(zeros, false, `${p.name}/${suffix}`));
      zeros.dispose();
    }
  }

  /** Holds one micro-step's gradients (the first of a window) or adds them to what is held; disposes `grads`. */
  add(grads: tf.NamedTensorMap, first: boolean): void {
    for (const [name, g] of Object.entries(grads)) {
      const slot = this.slot(name);
      if (first) slot.assign(g);
      else {
        const sum = tf.add(slot, g);
        slot.assign(sum);
        sum.dispose();
      }
    }
    tf.dispose(Object.values(grads));
  }

  /** The window's total for the optimizer step: what is held plus `grads` (disposed), or `grads` alone. */
  total(grads: tf.NamedTensorMap, first: boolean): tf.NamedTensorMap {
    if (first) return grads;
    const out: tf.NamedTensorMap = {};
    for (const [name, g] of Object.entries(grads)) out[name] = tf.add(this.slot(name), g);
    tf.dispose(Object.values(grads));
    return out;
  }

  dispose(): void {
    tf.dispose([...this.slots.values()]);
    this.slots.clear();
    this.count = 0;
  }

  private slot(name: string): tf.Variable {
    const s = this.slots.get(name);
    if (!s) throw new Error(`gradient accumulation: no slot for parameter "${name}"`);
    return s;
  }
}

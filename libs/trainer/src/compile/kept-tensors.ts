import * as tf from '@tensorflow/tfjs';

/** The tfjs engine internals a scope needs (tf.tidy's own, without its walk over the result). */
interface ScopedEngine {
  startScope(name?: string): void;
  endScope(result?: tf.TensorContainer): void;
  track<T extends tf.Tensor>(t: T): T;
}

/**
 * Runs `fn` in its own tfjs scope, as tf.tidy does, and returns the tensors it made that outlive it
 * besides its result: the ones kept with tf.keep at any depth (a step that stores its predictions
 * on `this`, or collects them for the epoch's end). A compiled call makes no such tensors, so a step
 * that keeps some would be left holding the traced step's values: such a step stays eager. The
 * engine's `track` sees every tensor made (variables aside), nested scopes included.
 */
export function keptBy<T>(fn: () => T): { result: T; kept: tf.Tensor[] } {
  const engine = tf.engine() as unknown as ScopedEngine;
  const made = new Set<tf.Tensor>();
  const own = Object.hasOwn(engine, 'track');
  const track = engine.track;
  engine.track = <U extends tf.Tensor>(t: U): U => {
    made.add(t);
    return track.call(engine, t) as U;
  };
  let result: T | undefined;
  engine.startScope('kiln compiled step trace');
  try {
    result = fn();
  } finally {
    engine.endScope(result as tf.TensorContainer);
    if (own) engine.track = track;
    else delete (engine as Partial<ScopedEngine>).track;
  }
  const out = new Set(tensorsIn(result));
  return { result: result as T, kept: [...made].filter((t) => !t.isDisposed && !out.has(t)) };
}

/** The tensors of a step's result (a tensor, or an object of them at any depth). */
function tensorsIn(x: unknown): tf.Tensor[] {
  if (x instanceof tf.Tensor) return [x];
  if (x === null || typeof x !== 'object') return [];
  return Object.values(x).flatMap(tensorsIn);
}

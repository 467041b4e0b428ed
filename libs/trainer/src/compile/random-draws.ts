import * as tf from '@tensorflow/tfjs';
import type { CreatedTensor } from './recorder.js';

/**
 * A random tensor that one of tfjs's random ops made in JavaScript during a traced step. tfjs seeds
 * each unseeded draw with one `Math.random()` value, so the compiled step can take it as an input and
 * make it again before every call, from the same `Math.random` stream in the same order as an eager
 * step would: tf.dropout's mask (uniform in [0, 1)), noise (`randomNormal`, `truncatedNormal`, the
 * reparameterisation of a VAE), jitter (`randomUniform(shape, 0.9, 1.1)`).
 */
export interface RandomDraw {
  op: 'randomUniform' | 'randomNormal' | 'truncatedNormal';
  shape: number[];
  /** randomUniform: min and max; the normals: mean and standard deviation */
  a: number;
  b: number;
}

/** Draws the tensor again (one `Math.random()` seed, as the op itself takes). */
export function drawAgain(d: RandomDraw, seed?: number): tf.Tensor {
  if (d.op === 'randomUniform') return tf.randomUniform(d.shape, d.a, d.b, 'float32', seed);
  if (d.op === 'randomNormal') return tf.randomNormal(d.shape, d.a, d.b, 'float32', seed);
  return tf.truncatedNormal(d.shape, d.a, d.b, 'float32', seed);
}

/**
 * Which random op with which parameters made `c` from the seed drawn just before it, or null when no
 * float random op does (a value computed from Math.random some other way, which cannot be replayed).
 * The parameters are solved from two elements against the op's unit draw, then confirmed by drawing
 * the whole tensor again and comparing every element exactly (so a one-element draw is found only
 * with the ops' default parameters).
 */
export function identifyDraw(c: CreatedTensor, float: number): RandomDraw | null {
  if (c.seed === undefined || c.dtype !== float || !(c.values instanceof Float32Array)) return null;
  const got = c.values;
  if (got.length === 0) return null;
  for (const op of ['randomUniform', 'randomNormal', 'truncatedNormal'] as const) {
    const unit = valuesOf({ op, shape: c.shape, a: 0, b: 1 }, c.seed);
    for (const [a, b] of candidates(op, unit, got)) {
      const d: RandomDraw = { op, shape: [...c.shape], a, b };
      if (equal(valuesOf(d, c.seed), got)) return d;
    }
  }
  return null;
}

function valuesOf(d: RandomDraw, seed: number): Float32Array {
  const t = drawAgain(d, seed);
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

function equal(x: Float32Array, y: Float32Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Parameter guesses for `got = a + scale · unit` (uniform: a = min, b = min + scale; normals: a = mean,
 * b = scale): solved from the two elements farthest apart in `unit`, then rounded to 1–7 significant
 * digits, since the values written in code (0.9, 1.1, 0.05) are what the op was called with.
 */
function candidates(op: RandomDraw['op'], unit: Float32Array, got: Float32Array): [number, number][] {
  let lo = 0;
  let hi = 0;
  for (let i = 1; i < unit.length; i++) {
    if ((unit[i] as number) < (unit[lo] as number)) lo = i;
    if ((unit[i] as number) > (unit[hi] as number)) hi = i;
  }
  const du = (unit[hi] as number) - (unit[lo] as number);
  const scale = du === 0 ? 1 : ((got[hi] as number) - (got[lo] as number)) / du;
  const offset = (got[lo] as number) - scale * (unit[lo] as number);
  const out: [number, number][] = [];
  for (let digits = 1; digits <= 7; digits++) {
    const a = Number(offset.toPrecision(digits));
    const b = Number((op === 'randomUniform' ? offset + scale : scale).toPrecision(digits));
    if (!out.some(([x, y]) => x === a && y === b)) out.push([a, b]);
  }
  return out;
}

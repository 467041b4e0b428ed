// The search space: each parameter's domain in one normalized form, the order parameters are sampled in
// (a condition's parent before its children; names sorted, so a spec that went through a JSON store
// with reordered keys samples the same), and which parameters a partial assignment activates.
import type { SweepParameter } from '@kiln/spec';
import type { Rng } from './rng.js';
import type { ParamValue } from './types.js';

export interface Dimension {
  name: string;
  kind: 'float' | 'int' | 'choice';
  /** float and int: bounds (int high lowered onto the step grid); choice: 0 and values.length - 1. */
  low: number;
  high: number;
  /** int step, 0 for float and choice. */
  step: number;
  log: boolean;
  choices: readonly ParamValue[];
  when: Readonly<Record<string, readonly ParamValue[]>> | undefined;
}

export interface Space {
  /** Sampling order: every parameter after the parameters its condition names. */
  dims: readonly Dimension[];
  byName: ReadonlyMap<string, Dimension>;
}

function dimension(name: string, p: SweepParameter): Dimension {
  const when = p.when;
  switch (p.type) {
    case 'uniform':
    case 'loguniform':
      if (!(p.min < p.max)) throw new RangeError(`parameters.${name}: min must be < max`);
      return {
        name,
        kind: 'float',
        low: p.min,
        high: p.max,
        step: 0,
        log: p.type === 'loguniform',
        choices: [],
        when,
      };
    case 'int': {
      const step = p.step ?? 1;
      if (!(p.min <= p.max)) throw new RangeError(`parameters.${name}: min must be ≤ max`);
      const high = p.min + Math.floor((p.max - p.min) / step) * step;
      return { name, kind: 'int', low: p.min, high, step, log: p.log === true, choices: [], when };
    }
    case 'choice':
      return {
        name,
        kind: 'choice',
        low: 0,
        high: p.values.length - 1,
        step: 0,
        log: false,
        choices: p.values,
        when,
      };
  }
}

export function buildSpace(parameters: Readonly<Record<string, SweepParameter>>): Space {
  const names = Object.keys(parameters).sort();
  const pending = names.map((n) => dimension(n, parameters[n] as SweepParameter));
  const dims: Dimension[] = [];
  const placed = new Set<string>();
  while (pending.length > 0) {
    const i = pending.findIndex((d) => Object.keys(d.when ?? {}).every((parent) => placed.has(parent)));
    if (i < 0)
      throw new RangeError(
        `parameters: conditions form a cycle among ${pending.map((d) => d.name).join(', ')}`,
      );
    const [d] = pending.splice(i, 1) as [Dimension];
    dims.push(d);
    placed.add(d.name);
  }
  return { dims, byName: new Map(dims.map((d) => [d.name, d])) };
}

export function isActive(d: Dimension, assigned: Readonly<Record<string, ParamValue>>): boolean {
  if (!d.when) return true;
  for (const [parent, values] of Object.entries(d.when)) {
    if (!(parent in assigned) || !values.includes(assigned[parent] as ParamValue)) return false;
  }
  return true;
}

/** Number of values an int or choice dimension takes. */
export function cardinality(d: Dimension): number {
  return d.kind === 'choice' ? d.choices.length : d.kind === 'int' ? (d.high - d.low) / d.step + 1 : Infinity;
}

/** Value in the form the samplers model: choice → index, log dimensions stay in value space. */
export function toInternal(d: Dimension, v: ParamValue): number {
  return d.kind === 'choice' ? d.choices.indexOf(v) : (v as number);
}

export function toExternal(d: Dimension, x: number): ParamValue {
  if (d.kind === 'choice')
    return d.choices[Math.min(d.choices.length - 1, Math.max(0, Math.round(x)))] as ParamValue;
  if (d.kind === 'int') return clamp(d.low + Math.round((x - d.low) / d.step) * d.step, d.low, d.high);
  return clamp(x, d.low, d.high);
}

export function inDomain(d: Dimension, v: unknown): boolean {
  if (d.kind === 'choice') return d.choices.includes(v as ParamValue);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < d.low || v > d.high) return false;
  return d.kind === 'float' || Number.isInteger((v - d.low) / d.step);
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/**
 * A uniform draw, as Optuna's RandomSampler makes it: floats uniform in value or log space, ints
 * uniform over [low - step/2, high + step/2] (log space for log ints) and rounded onto the grid.
 */
export function sampleUniform(d: Dimension, rng: Rng): ParamValue {
  const u = rng.uniform();
  if (d.kind === 'choice')
    return d.choices[Math.min(d.choices.length - 1, Math.floor(u * d.choices.length))] as ParamValue;
  const half = d.step / 2;
  const lo = d.low - half;
  const hi = d.high + half;
  const x = d.log ? Math.exp(Math.log(lo) + u * (Math.log(hi) - Math.log(lo))) : lo + u * (hi - lo);
  return toExternal(d, x);
}

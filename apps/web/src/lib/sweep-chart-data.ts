// What the sweep page's charts draw, computed from the trials (pure, so it reads the same in tests):
// each trial's objective, the best so far, and the parameters as axes.
import type { Trial } from './sweep-types';

export type Goal = 'minimize' | 'maximize';

export interface ParamAxis {
  name: string;
  kind: 'value' | 'log' | 'category';
  /** The values of a category axis, in first-seen order. */
  categories: string[];
}

/** Trials that have an objective value, by number. */
export function scored(trials: Trial[]): (Trial & { value: number })[] {
  return trials
    .filter((t): t is Trial & { value: number } => typeof t.value === 'number' && Number.isFinite(t.value))
    .sort((a, b) => a.number - b.number);
}

export const better = (goal: Goal, a: number, b: number) => (goal === 'maximize' ? a > b : a < b);

/** [trial number, best objective among trials up to it] for each scored trial. */
export function bestSoFar(trials: Trial[], goal: Goal): [number, number][] {
  const out: [number, number][] = [];
  let best: number | null = null;
  for (const t of scored(trials)) {
    if (best === null || better(goal, t.value, best)) best = t.value;
    out.push([t.number, best]);
  }
  return out;
}

/**
 * One axis per parameter, in the spec's order (then any others a trial has): numbers on a value axis
 * (log for loguniform, which spans decades), anything else on a category axis.
 */
export function paramAxes(trials: Trial[], specParams: Record<string, { type: string }> = {}): ParamAxis[] {
  const names = [...Object.keys(specParams)];
  for (const t of trials) for (const k of Object.keys(t.params)) if (!names.includes(k)) names.push(k);
  return names.map((name) => {
    const values = trials.map((t) => t.params[name]).filter((v) => v !== undefined);
    const numeric = values.every((v) => typeof v === 'number');
    const categories = numeric ? [] : [...new Set(values.map(String))];
    const log = numeric && specParams[name]?.type === 'loguniform' && values.every((v) => (v as number) > 0);
    return { name, kind: numeric ? (log ? 'log' : 'value') : 'category', categories };
  });
}

/** A parameter's value as its axis places it. */
export function axisValue(axis: ParamAxis, v: unknown): number | string | null {
  if (v === undefined || v === null) return null;
  return axis.kind === 'category' ? String(v) : (v as number);
}

// Checks the trial rows a search is rebuilt from, so a corrupted or foreign row fails loudly at load
// instead of steering the search somewhere else.
import { type Dimension, inDomain, isActive, type Space } from './space.js';
import type { TrialRecord } from './types.js';

const STATES = new Set(['running', 'complete', 'pruned', 'failed']);

export class HistoryError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'HistoryError';
  }
}

export function checkParams(space: Space, params: Record<string, unknown>, at: string): void {
  for (const name of Object.keys(params)) {
    if (!space.byName.has(name)) throw new HistoryError(`${at}.${name}`, 'is not a parameter of this search');
  }
  for (const d of space.dims as Dimension[]) {
    const active = isActive(d, params as Record<string, never>);
    const has = Object.hasOwn(params, d.name);
    if (active && !has) throw new HistoryError(`${at}.${d.name}`, 'is missing (the parameter is active)');
    if (!active && has) throw new HistoryError(`${at}.${d.name}`, 'is set but its condition does not hold');
    if (has && !inDomain(d, params[d.name])) {
      throw new HistoryError(
        `${at}.${d.name}`,
        `${JSON.stringify(params[d.name])} is outside the parameter's domain`,
      );
    }
  }
}

export function checkHistory(space: Space, history: readonly TrialRecord[]): void {
  history.forEach((t, i) => {
    const at = `history[${i}]`;
    if (t.number !== i)
      throw new HistoryError(
        `${at}.number`,
        `must be ${i} (trials numbered 0, 1, … in order), got ${t.number}`,
      );
    if (!STATES.has(t.state))
      throw new HistoryError(
        `${at}.state`,
        `must be running, complete, pruned or failed, got ${String(t.state)}`,
      );
    if (t.state === 'complete' && !Number.isFinite(t.value)) {
      throw new HistoryError(`${at}.value`, `a complete trial needs a finite value, got ${String(t.value)}`);
    }
    checkParams(space, t.params, `${at}.params`);
    let last = -Infinity;
    t.intermediate.forEach((r, j) => {
      if (!Number.isFinite(r.step) || r.step <= last) {
        throw new HistoryError(
          `${at}.intermediate[${j}].step`,
          `must be finite and above the previous step (${last}), got ${r.step}`,
        );
      }
      last = r.step;
    });
  });
}

/** A bad optimizer setting: names the optimizer, the field, what was expected and what came. */
export class OptimizerOptionError extends Error {
  constructor(
    readonly optimizer: string,
    readonly field: string,
    expected: string,
    got: unknown,
  ) {
    super(`${optimizer}: ${field} must be ${expected}, got ${describe(got)}`);
    this.name = 'OptimizerOptionError';
  }
}

function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (v === undefined) return 'undefined';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Rejects anything but a plain object with known keys (a typo like `weight_decay` is an error, not a no-op). */
export function checkOptions(optimizer: string, options: unknown, known: readonly string[]): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new OptimizerOptionError(optimizer, 'options', `an object such as { lr: 1e-3 }`, options);
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      throw new OptimizerOptionError(optimizer, key, `one of the known options (${known.join(', ')})`, key);
  }
}

export function nonNegative(optimizer: string, field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new OptimizerOptionError(optimizer, field, 'a finite number ≥ 0', v);
  return v;
}

/** A decay rate in [0, 1): 1 would never forget, and bias correction would divide by zero. */
export function unitInterval(optimizer: string, field: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1))
    throw new OptimizerOptionError(optimizer, field, 'a number in [0, 1)', v);
  return v;
}

export function boolean(optimizer: string, field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new OptimizerOptionError(optimizer, field, 'true or false', v);
  return v;
}

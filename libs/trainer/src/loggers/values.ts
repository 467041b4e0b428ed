// Checks what callers hand a logger and turns values into plain data every file format can hold.

/** Throws a TypeError naming the bad key unless every metric is a number and the step a whole number ≥ 0. */
export function checkMetrics(logger: string, metrics: Record<string, number>, step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new TypeError(`${logger}.logMetrics: step must be a non-negative integer, got ${String(step)}`);
  }
  if (metrics === null || typeof metrics !== 'object') {
    throw new TypeError(`${logger}.logMetrics: metrics must be an object of numbers, got ${typeof metrics}`);
  }
  for (const [key, value] of Object.entries(metrics)) {
    if (key === '') throw new TypeError(`${logger}.logMetrics: metric names must be non-empty`);
    if (typeof value !== 'number') {
      throw new TypeError(
        `${logger}.logMetrics: metric '${key}' must be a number, got ${describe(value)}` +
          (isTensorLike(value) ? ' (call .dataSync()[0] or log it through Module.log)' : ''),
      );
    }
  }
}

/**
 * NaN and ±Infinity in JSON: the strings "NaN", "Infinity", "-Infinity", as the protobuf JSON mapping
 * writes them, because JSON has no literal for them and `null` would hide a diverged run.
 */
export function jsonNumber(value: number): number | string {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

/** Hyperparameter values that every format can hold: null, boolean, number, string, arrays and objects. */
export type PlainValue = null | boolean | number | string | PlainValue[] | { [key: string]: PlainValue };

/**
 * Copies hyperparameters into plain data. Dates become ISO strings and bigints decimal strings;
 * undefined entries are dropped; anything else (functions, tensors, class instances) is an error naming
 * the key, since a logger cannot record it faithfully.
 */
export function plainHparams(params: Record<string, unknown>): Record<string, PlainValue> {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new TypeError(`logHyperparams: expected an object of hyperparameters, got ${describe(params)}`);
  }
  return plainObject(params, 'hparams', new Set());
}

function plainObject(
  obj: Record<string, unknown>,
  path: string,
  seen: Set<object>,
): Record<string, PlainValue> {
  const out: Record<string, PlainValue> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue;
    out[key] = plain(value, `${path}.${key}`, seen);
  }
  return out;
}

function plain(value: unknown, path: string, seen: Set<object>): PlainValue {
  if (
    value === null ||
    typeof value === 'boolean' ||
    typeof value === 'number' ||
    typeof value === 'string'
  ) {
    return value;
  }
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    if (seen.has(value)) throw new TypeError(`logHyperparams: ${path} refers back to itself`);
    const proto = Object.getPrototypeOf(value);
    if (Array.isArray(value) || proto === Object.prototype || proto === null) {
      seen.add(value);
      const out = Array.isArray(value)
        ? value.map((v, i) => plain(v ?? null, `${path}[${i}]`, seen))
        : plainObject(value as Record<string, unknown>, path, seen);
      seen.delete(value);
      return out;
    }
  }
  throw new TypeError(
    `logHyperparams: ${path} is ${describe(value)}; expected a number, string, boolean, null, array or plain object`,
  );
}

/** `{a: {b: 1}, c: [1, 2]}` → `{'a/b': 1, c: '[1,2]'}`: the flat key/value view TensorBoard's table shows. */
export function flattenHparams(params: Record<string, PlainValue>, prefix = ''): Record<string, PlainValue> {
  const out: Record<string, PlainValue> = {};
  for (const [key, value] of Object.entries(params)) {
    const name = prefix ? `${prefix}/${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      Object.assign(out, flattenHparams(value, name));
    } else {
      out[name] = Array.isArray(value) ? JSON.stringify(value) : value;
    }
  }
  return out;
}

function isTensorLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'dataSync' in value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const ctor = (value as object).constructor?.name;
    return ctor && ctor !== 'Object' ? `an instance of ${ctor}` : 'an object';
  }
  if (typeof value === 'function') return 'a function';
  return `${typeof value} ${String(value)}`;
}

// Kubernetes resource quantities ("4", 500m, 16Gi, 1e3): the pattern the apiserver accepts, minus the sign
// (a negative request or limit is never meaningful), and a parser for the operator's capacity arithmetic.

const NUMBER = '(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))';
const SUFFIX = `(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?${NUMBER}))`;
/** Non-negative Kubernetes quantity as a string. */
export const QUANTITY_PATTERN = `^${NUMBER}${SUFFIX}?$`;
const QUANTITY_RE = new RegExp(QUANTITY_PATTERN);

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

export function isQuantity(value: unknown): value is string | number {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0;
  return typeof value === 'string' && QUANTITY_RE.test(value);
}

/**
 * The quantity in base units (cores, bytes, devices): `parseQuantity('500m') === 0.5`,
 * `parseQuantity('16Gi') === 17179869184`. Throws on anything that is not a quantity.
 */
export function parseQuantity(value: string | number): number {
  if (!isQuantity(value)) {
    throw new TypeError(`not a Kubernetes quantity (such as 4, 500m or 16Gi): ${JSON.stringify(value)}`);
  }
  if (typeof value === 'number') return value;
  const match = /^([0-9.]+)(.*)$/.exec(value)!;
  const [, digits = '', suffix = ''] = match;
  const base = Number(digits);
  if (suffix === '') return base;
  if (suffix in BINARY) return base * BINARY[suffix]!;
  if (suffix in DECIMAL) return base * DECIMAL[suffix]!;
  return base * 10 ** Number(suffix.slice(1)); // e/E exponent
}

// Truncated normal pieces for the Parzen estimators, in log space so kernels far from a point give
// tiny log-densities rather than 0 - 0. Mirrors optuna/samplers/_tpe/_truncnorm.py.
import type { Rng } from './rng.js';

const LN2 = Math.LN2;

/** log erfc(z) for z ≥ 0 (Numerical Recipes' erfcc, fractional error < 1.2e-7 everywhere). */
function logErfc(z: number): number {
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) - z * z + poly;
}

/** log Φ(x). */
export function logNdtr(x: number): number {
  if (x < 0) return -LN2 + logErfc(-x / Math.SQRT2);
  return Math.log1p(-0.5 * Math.exp(logErfc(x / Math.SQRT2)));
}

function log1mexp(x: number): number {
  return x > -LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
}

/** log(Φ(b) − Φ(a)) for a ≤ b, accurate in both tails. */
export function logGaussMass(a: number, b: number): number {
  if (!(a < b)) return Number.NEGATIVE_INFINITY;
  if (b <= 0) {
    const lb = logNdtr(b);
    return lb + log1mexp(logNdtr(a) - lb);
  }
  if (a >= 0) return logGaussMass(-b, -a);
  // a < 0 < b: Φ(b) − Φ(a) = (erf(b/√2) + erf(−a/√2)) / 2, each erf accurate near 0 too.
  return Math.log(0.5 * (erf(b / Math.SQRT2) + erf(-a / Math.SQRT2)));
}

/** erf(x) for x ≥ 0: Taylor series near 0 (no cancellation), 1 − erfc beyond. */
function erf(x: number): number {
  if (x >= 0.5) return -Math.expm1(logErfc(x));
  let term = x;
  let sum = x;
  for (let n = 1; n < 30 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** A draw of N(mu, sigma) truncated to [low, high]; mu lies inside, so acceptance is ≥ ~1/3. */
export function truncSample(rng: Rng, mu: number, sigma: number, low: number, high: number): number {
  for (let i = 0; i < 64; i++) {
    const x = mu + sigma * rng.normal();
    if (x >= low && x <= high) return x;
  }
  return low + rng.uniform() * (high - low);
}

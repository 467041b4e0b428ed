// Parzen estimator of TPE: a mixture of product kernels, one per observation plus a prior, as in
// optuna/samplers/_tpe/parzen_estimator.py (Optuna 5 defaults: prior weight 1, magic clip on,
// endpoints off, weights ramping down the oldest observations past 25).
import type { Rng } from './rng.js';
import type { Dimension } from './space.js';
import { logGaussMass, truncSample } from './truncnorm.js';

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

const PRIOR_WEIGHT = 1;

/** Optuna's default_weights: flat up to 25 observations, older ones ramped down beyond. */
export function defaultWeights(n: number): number[] {
  if (n < 25) return new Array<number>(n).fill(1);
  const ramp = n - 25;
  const out: number[] = [];
  for (let i = 0; i < ramp; i++) out.push(ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1));
  for (let i = 0; i < 25; i++) out.push(1);
  return out;
}

interface Numerical {
  kind: 'numerical';
  dim: Dimension;
  /** Transformed (log for log dimensions) bounds, widened by step/2 for ints. */
  low: number;
  high: number;
  mus: Float64Array;
  sigmas: Float64Array;
  /** log mass of each kernel inside [low, high]. */
  logMass: Float64Array;
  /** Per kernel: 1/sigma and −log(√(2π)·sigma·mass), so a log-density is one multiply-add away. */
  invSigma: Float64Array;
  logNorm: Float64Array;
}

interface Categorical {
  kind: 'categorical';
  dim: Dimension;
  /** Row k: kernel k's probabilities over the choices. */
  logProbs: Float64Array[];
  probs: Float64Array[];
}

type Kernel = Numerical | Categorical;

const transform = (d: Dimension, x: number) => (d.log ? Math.log(x) : x);

/** Kernels (plus the prior, last) of a numerical dimension; exported for the ported Optuna cases. */
export function numerical(d: Dimension, obs: readonly number[]): Numerical {
  const half = d.step / 2;
  const low = transform(d, d.low - half);
  const high = transform(d, d.high + half);
  const n = obs.length;
  const mus = new Float64Array(n + 1);
  const sigmas = new Float64Array(n + 1);
  obs.forEach((x, i) => {
    mus[i] = transform(d, x);
  });
  const order = [...mus.subarray(0, n).keys()].sort((i, j) => (mus[i] as number) - (mus[j] as number));
  const sorted = [low, ...order.map((i) => mus[i] as number), high];
  const minSigma = (high - low) / Math.min(100, 1 + (n + 1));
  const maxSigma = high - low;
  order.forEach((orig, k) => {
    const s = k + 1;
    let sigma = Math.max(
      (sorted[s] as number) - (sorted[s - 1] as number),
      (sorted[s + 1] as number) - (sorted[s] as number),
    );
    // Endpoints off: the outermost kernels look only inward.
    if (n >= 2 && k === 0) sigma = (sorted[2] as number) - (sorted[1] as number);
    if (n >= 2 && k === n - 1) sigma = (sorted[n] as number) - (sorted[n - 1] as number);
    sigmas[orig] = Math.min(maxSigma, Math.max(minSigma, sigma));
  });
  mus[n] = 0.5 * (low + high);
  sigmas[n] = high - low;
  const logMass = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) {
    logMass[i] = logGaussMass(
      (low - (mus[i] as number)) / (sigmas[i] as number),
      (high - (mus[i] as number)) / (sigmas[i] as number),
    );
  }
  const invSigma = sigmas.map((x) => 1 / x);
  const logNorm = sigmas.map((x, i) => -LOG_SQRT_2PI - Math.log(x) - (logMass[i] as number));
  return { kind: 'numerical', dim: d, low, high, mus, sigmas, logMass, invSigma, logNorm };
}

function categorical(d: Dimension, obs: readonly number[]): Categorical {
  const c = d.choices.length;
  const n = obs.length;
  const probs: Float64Array[] = [];
  if (n === 0) probs.push(new Float64Array(c).fill(1 / c));
  else {
    const base = PRIOR_WEIGHT / (n + 1);
    for (let k = 0; k <= n; k++) {
      const row = new Float64Array(c).fill(base);
      if (k < n) row[obs[k] as number] = (row[obs[k] as number] as number) + 1;
      const sum = row.reduce((a, b) => a + b, 0);
      for (let j = 0; j < c; j++) row[j] = (row[j] as number) / sum;
      probs.push(row);
    }
  }
  return { kind: 'categorical', dim: d, probs, logProbs: probs.map((r) => r.map(Math.log)) };
}

export class ParzenEstimator {
  private readonly kernels: Kernel[];
  private readonly logWeights: Float64Array;
  private readonly cumWeights: Float64Array;

  /** observations[i][j]: internal value of dims[j] in observation i (choice → index). */
  constructor(
    readonly dims: readonly Dimension[],
    observations: readonly (readonly number[])[],
  ) {
    const n = observations.length;
    const w = n === 0 ? [1] : [...defaultWeights(n), PRIOR_WEIGHT];
    const total = w.reduce((a, b) => a + b, 0);
    this.logWeights = Float64Array.from(w, (x) => Math.log(x / total));
    let acc = 0;
    this.cumWeights = Float64Array.from(w, (x) => (acc += x / total));
    this.kernels = dims.map((d, j) => {
      const col = observations.map((o) => o[j] as number);
      return d.kind === 'choice' ? categorical(d, col) : numerical(d, col);
    });
  }

  /** `size` points (internal values, one array per point). */
  sample(rng: Rng, size: number): number[][] {
    const out: number[][] = [];
    const last = this.cumWeights.length - 1;
    for (let s = 0; s < size; s++) {
      const u = rng.uniform();
      let k = 0;
      while (k < last && (this.cumWeights[k] as number) <= u) k++;
      out.push(
        this.kernels.map((ker) => {
          if (ker.kind === 'categorical') {
            const row = ker.probs[Math.min(k, ker.probs.length - 1)] as Float64Array;
            const v = rng.uniform();
            let c = 0;
            let cum = row[0] as number;
            while (c < row.length - 1 && cum <= v) cum += row[++c] as number;
            return c;
          }
          const x = truncSample(rng, ker.mus[k] as number, ker.sigmas[k] as number, ker.low, ker.high);
          const d = ker.dim;
          const v = d.log ? Math.exp(x) : x;
          if (d.kind === 'int')
            return Math.min(d.high, Math.max(d.low, d.low + Math.round((v - d.low) / d.step) * d.step));
          return Math.min(d.high, Math.max(d.low, v));
        }),
      );
    }
    return out;
  }

  /** log density of each point under the mixture. */
  logPdf(points: readonly (readonly number[])[]): number[] {
    const nk = this.logWeights.length;
    const terms = new Float64Array(nk);
    return points.map((x) => {
      terms.set(this.logWeights);
      this.kernels.forEach((ker, j) => {
        const xj = x[j] as number;
        if (ker.kind === 'categorical') {
          for (let k = 0; k < nk; k++)
            terms[k] = (terms[k] as number) + ((ker.logProbs[k] as Float64Array)[xj] as number);
          return;
        }
        const d = ker.dim;
        if (d.kind === 'int') {
          const left = transform(d, xj - d.step / 2);
          const right = transform(d, xj + d.step / 2);
          for (let k = 0; k < nk; k++) {
            const mu = ker.mus[k] as number;
            const sigma = ker.sigmas[k] as number;
            terms[k] =
              (terms[k] as number) +
              logGaussMass((left - mu) / sigma, (right - mu) / sigma) -
              (ker.logMass[k] as number);
          }
          return;
        }
        const t = transform(d, xj);
        const { mus, invSigma, logNorm } = ker;
        for (let k = 0; k < nk; k++) {
          const z = (t - (mus[k] as number)) * (invSigma[k] as number);
          terms[k] = (terms[k] as number) + (logNorm[k] as number) - 0.5 * z * z;
        }
      });
      let max = Number.NEGATIVE_INFINITY;
      for (const v of terms) if (v > max) max = v;
      if (max === Number.NEGATIVE_INFINITY) return max;
      let sum = 0;
      for (const v of terms) sum += Math.exp(v - max);
      return max + Math.log(sum);
    });
  }
}

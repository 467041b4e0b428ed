// The benchmark functions, defined the same way in optuna_runner.py (run.ts re-evaluates Optuna's best
// points here to check that both sides optimize the same thing).
import type { SweepParameter } from '@kiln/spec';
import type { TrialRecord } from '@kiln/sweeps';

type Params = TrialRecord['params'];
const n = (p: Params, k: string) => p[k] as number;

export interface BenchFunction {
  name: string;
  parameters: Record<string, SweepParameter>;
  f(p: Params): number;
  /** Known global minimum, for the table. */
  optimum: number;
}

const branin: BenchFunction = {
  name: 'branin',
  parameters: { x1: { type: 'uniform', min: -5, max: 10 }, x2: { type: 'uniform', min: 0, max: 15 } },
  f(p) {
    const [x1, x2] = [n(p, 'x1'), n(p, 'x2')];
    const b = 5.1 / (4 * Math.PI ** 2);
    const c = 5 / Math.PI;
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
  },
  optimum: 0.397887,
};

const A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
];
const ALPHA = [1, 1.2, 3, 3.2];

const hartmann6: BenchFunction = {
  name: 'hartmann6',
  parameters: Object.fromEntries(
    [0, 1, 2, 3, 4, 5].map((i) => [`x${i}`, { type: 'uniform', min: 0, max: 1 }]),
  ),
  f(p) {
    let s = 0;
    for (let i = 0; i < 4; i++) {
      let inner = 0;
      for (let j = 0; j < 6; j++)
        inner += (A[i] as number[])[j]! * (n(p, `x${j}`) - (P[i] as number[])[j]! * 1e-4) ** 2;
      s += ALPHA[i]! * Math.exp(-inner);
    }
    return -s;
  },
  optimum: -3.32237,
};

const rosenbrock4: BenchFunction = {
  name: 'rosenbrock4',
  parameters: Object.fromEntries([0, 1, 2, 3].map((i) => [`x${i}`, { type: 'uniform', min: -5, max: 10 }])),
  f(p) {
    let s = 0;
    for (let i = 0; i < 3; i++)
      s += 100 * (n(p, `x${i + 1}`) - n(p, `x${i}`) ** 2) ** 2 + (1 - n(p, `x${i}`)) ** 2;
    return s;
  },
  optimum: 0,
};

/** Shaped like a learning-rate search: the best lr depends on the optimizer and the batch size. */
const lrSearch: BenchFunction = {
  name: 'lr-search',
  parameters: {
    lr: { type: 'loguniform', min: 1e-5, max: 1 },
    weight_decay: { type: 'loguniform', min: 1e-6, max: 1e-1 },
    width: { type: 'int', min: 16, max: 512, step: 16 },
    layers: { type: 'int', min: 1, max: 8 },
    batch: { type: 'int', min: 8, max: 1024, log: true },
    optimizer: { type: 'choice', values: ['sgd', 'adam', 'rmsprop'] },
    momentum: { type: 'uniform', min: 0, max: 0.99, when: { optimizer: ['sgd'] } },
  },
  f(p) {
    const opt = p.optimizer as string;
    const base = { sgd: 0.02, adam: 0, rmsprop: 0.05 }[opt] as number;
    const lrBest =
      ({ sgd: -1.5, adam: -3, rmsprop: -3.5 }[opt] as number) + 0.25 * Math.log2(n(p, 'batch') / 64);
    let v = base + 0.5 * (Math.log10(n(p, 'lr')) - lrBest) ** 2;
    v += 0.1 * (Math.log10(n(p, 'weight_decay')) + 4) ** 2;
    v += 0.075 * (Math.log2(n(p, 'width')) - 8) ** 2;
    v += 0.05 * (n(p, 'layers') - 3) ** 2;
    v += 0.02 * (Math.log2(n(p, 'batch')) - 6) ** 2;
    if (opt === 'sgd') v += 2 * (n(p, 'momentum') - 0.9) ** 2;
    return v;
  },
  optimum: 0,
};

export const FUNCTIONS: readonly BenchFunction[] = [branin, hartmann6, rosenbrock4, lrSearch];

import type { Callback } from '../callbacks/callback.js';
import type { Logger } from '../loggers/logger.js';
import type { Strategy } from '../strategies/strategy.js';

export interface TrainerOptions {
  /** 'auto' takes a GPU when one is installed */
  accelerator?: 'cpu' | 'gpu' | 'auto';
  /** tfjs backend: 'auto' takes the fastest usable (tensorflow gpu, webgpu, tensorflow cpu, wasm, cpu) */
  backend?: 'tensorflow' | 'webgpu' | 'cpu' | 'wasm' | 'auto';
  intraOpThreads?: number;
  interOpThreads?: number;
  /** processes per node (DDP when > 1) */
  devices?: number | 'auto';
  numNodes?: number;
  strategy?: 'auto' | 'single' | 'ddp' | Strategy;
  maxEpochs?: number;
  minEpochs?: number;
  /** -1: no limit */
  maxSteps?: number;
  minSteps?: number;
  /** "DD:HH:MM:SS", seconds, or { days, hours, minutes, seconds } */
  maxTime?: string | number | { days?: number; hours?: number; minutes?: number; seconds?: number };
  /** an int: batches per epoch; a float in (0, 1]: that fraction of the epoch */
  limitTrainBatches?: number;
  limitValBatches?: number;
  limitTestBatches?: number;
  limitPredictBatches?: number;
  /** true (1) or n: run n batches of train/val/test once, no checkpoints or loggers, to find bugs fast */
  fastDevRun?: boolean | number;
  /** train and validate on the same first n batches (or fraction) to check the model can overfit */
  overfitBatches?: number;
  /** float: validate every fraction of an epoch; int: every n training batches */
  valCheckInterval?: number;
  checkValEveryNEpoch?: number | null;
  numSanityValSteps?: number;
  logEveryNSteps?: number;
  accumulateGradBatches?: number;
  gradientClipVal?: number | null;
  gradientClipAlgorithm?: 'norm' | 'value';
  /** seed every random source (Kiln's generator, Math.random → tfjs initializers/dropout) */
  deterministic?: boolean;
  seed?: number;
  enableCheckpointing?: boolean;
  enableProgressBar?: boolean;
  enableModelSummary?: boolean;
  defaultRootDir?: string;
  /** the bare loop: no logging, callbacks, checkpoints, progress, summary — for overhead measurement */
  barebones?: boolean;
  profiler?: 'simple' | null;
  callbacks?: Callback[];
  /** default: a CSVLogger under defaultRootDir; false: none; a logger or a list of loggers */
  logger?: Logger | Logger[] | false;
  /** stop with an error at the first non-finite loss */
  detectAnomaly?: boolean;
  /** numeric precision, Lightning's names; checked against the backend (see src/precision/) */
  precision?: '32' | '16-mixed' | 'bf16-mixed' | 32;
  /**
   * run the training step as one TensorFlow function, traced by the first steps (`tensorflow`
   * backend); `{ xla: true }` also compiles it with XLA, `{ eval: true }` also compiles the
   * validation and test steps. See src/compile/.
   */
  compile?: boolean | { xla?: boolean; eval?: boolean };
}

type Check = (v: unknown) => string | null;

const bool: Check = (v) => (typeof v === 'boolean' ? null : 'a boolean');
const oneOf =
  (...xs: string[]): Check =>
  (v) =>
    xs.includes(v as string) ? null : `one of ${xs.map((x) => `'${x}'`).join(', ')}`;
const int =
  (min: number): Check =>
  (v) =>
    Number.isInteger(v) && (v as number) >= min ? null : `an integer >= ${min}`;
const posNumber: Check = (v) =>
  typeof v === 'number' && v > 0 && Number.isFinite(v) ? null : 'a positive number';
const limit: Check = (v) =>
  typeof v === 'number' && v >= 0 && Number.isFinite(v) && (Number.isInteger(v) || v <= 1)
    ? null
    : 'a batch count (integer >= 0) or a fraction in [0, 1]';
const nullable =
  (c: Check): Check =>
  (v) =>
    v === null ? null : c(v);

const CHECKS: Record<keyof TrainerOptions, Check> = {
  accelerator: oneOf('cpu', 'gpu', 'auto'),
  backend: oneOf('tensorflow', 'webgpu', 'cpu', 'wasm', 'auto'),
  intraOpThreads: int(1),
  interOpThreads: int(1),
  devices: (v) =>
    v === 'auto' || (Number.isInteger(v) && (v as number) >= 1) ? null : "an integer >= 1 or 'auto'",
  numNodes: int(1),
  strategy: (v) =>
    v === 'auto' ||
    v === 'single' ||
    v === 'ddp' ||
    (v !== null && typeof v === 'object' && 'allReduceGradients' in v)
      ? null
      : "'auto', 'single', 'ddp' or a Strategy object",
  maxEpochs: int(-1),
  minEpochs: int(0),
  maxSteps: int(-1),
  minSteps: int(0),
  maxTime: (v) => {
    try {
      parseMaxTime(v as TrainerOptions['maxTime']);
      return null;
    } catch {
      return 'a duration: "DD:HH:MM:SS", seconds, or { days, hours, minutes, seconds }';
    }
  },
  limitTrainBatches: limit,
  limitValBatches: limit,
  limitTestBatches: limit,
  limitPredictBatches: limit,
  fastDevRun: (v) =>
    typeof v === 'boolean' || (Number.isInteger(v) && (v as number) >= 0)
      ? null
      : 'a boolean or a batch count',
  overfitBatches: limit,
  valCheckInterval: (v) =>
    typeof v === 'number' && v > 0 && (Number.isInteger(v) || v <= 1)
      ? null
      : 'a fraction in (0, 1] or a batch count',
  checkValEveryNEpoch: nullable(int(1)),
  numSanityValSteps: int(-1),
  logEveryNSteps: int(1),
  accumulateGradBatches: int(1),
  gradientClipVal: nullable(posNumber),
  gradientClipAlgorithm: oneOf('norm', 'value'),
  deterministic: bool,
  seed: (v) =>
    Number.isInteger(v) && (v as number) >= 0 && (v as number) < 2 ** 32 ? null : 'an integer in [0, 2^32)',
  enableCheckpointing: bool,
  enableProgressBar: bool,
  enableModelSummary: bool,
  defaultRootDir: (v) => (typeof v === 'string' && v.length > 0 ? null : 'a non-empty path'),
  barebones: bool,
  profiler: (v) => (v === null || v === 'simple' ? null : "'simple' or null"),
  callbacks: (v) =>
    Array.isArray(v) && v.every((c) => c !== null && typeof c === 'object')
      ? null
      : 'an array of Callback objects',
  logger: (v) =>
    v === false || (v !== null && typeof v === 'object') ? null : 'false, a Logger, or an array of Loggers',
  detectAnomaly: bool,
  precision: (v) =>
    v === 32 || v === '32' || v === '16-mixed' || v === 'bf16-mixed'
      ? null
      : "'32', '16-mixed' or 'bf16-mixed'",
  compile: (v) => {
    if (typeof v === 'boolean') return null;
    const expected = 'a boolean or { xla?: boolean, eval?: boolean }';
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return expected;
    for (const [k, x] of Object.entries(v)) {
      if (k !== 'xla' && k !== 'eval') return `${expected} (unknown key "${k}")`;
      if (x !== undefined && typeof x !== 'boolean') return `${expected} ("${k}" is ${typeof x})`;
    }
    return null;
  },
};

export const TRAINER_OPTION_NAMES = Object.keys(CHECKS) as (keyof TrainerOptions)[];

export class TrainerOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainerOptionError';
  }
}

/** Rejects unknown names (with a suggestion) and wrong types, naming the option and what it takes. */
export function validateTrainerOptions(opts: unknown): TrainerOptions {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TrainerOptionError(`Trainer options must be an object, got ${JSON.stringify(opts)}`);
  }
  for (const [key, value] of Object.entries(opts)) {
    const check = CHECKS[key as keyof TrainerOptions];
    if (!check) {
      const hint = closest(key, TRAINER_OPTION_NAMES);
      throw new TrainerOptionError(
        `unknown Trainer option "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}`,
      );
    }
    if (value === undefined) continue;
    const expected = check(value);
    if (expected) {
      throw new TrainerOptionError(`Trainer option "${key}" must be ${expected}, got ${describe(value)}`);
    }
  }
  const o = opts as TrainerOptions;
  if (
    o.gradientClipAlgorithm !== undefined &&
    (o.gradientClipVal === undefined || o.gradientClipVal === null)
  ) {
    throw new TrainerOptionError(
      'Trainer option "gradientClipAlgorithm" needs "gradientClipVal" (the clipping bound)',
    );
  }
  if (
    o.checkValEveryNEpoch === null &&
    (o.valCheckInterval === undefined || !Number.isInteger(o.valCheckInterval))
  ) {
    throw new TrainerOptionError(
      `Trainer option "valCheckInterval" must be a batch count when "checkValEveryNEpoch" is null (validation by total training batches), got ${o.valCheckInterval === undefined ? 'none' : o.valCheckInterval}`,
    );
  }
  if (
    o.minEpochs !== undefined &&
    o.maxEpochs !== undefined &&
    o.maxEpochs >= 0 &&
    o.minEpochs > o.maxEpochs
  ) {
    throw new TrainerOptionError(
      `Trainer option "minEpochs" (${o.minEpochs}) exceeds "maxEpochs" (${o.maxEpochs})`,
    );
  }
  if (
    o.compile !== undefined &&
    o.compile !== false &&
    o.backend !== undefined &&
    o.backend !== 'auto' &&
    o.backend !== 'tensorflow'
  ) {
    throw new TrainerOptionError(
      `Trainer option "compile" needs backend 'tensorflow' (or 'auto'), got backend '${o.backend}'`,
    );
  }
  return o;
}

/** Seconds, or null for no limit. */
export function parseMaxTime(v: TrainerOptions['maxTime']): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') {
    if (!(v > 0)) throw new Error('maxTime must be positive');
    return v;
  }
  if (typeof v === 'string') {
    const m = /^(\d+):(\d{1,2}):(\d{1,2}):(\d{1,2})$/.exec(v);
    if (!m) throw new Error('bad maxTime string');
    return Number(m[1]) * 86400 + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
  }
  if (typeof v === 'object') {
    const known = new Set(['days', 'hours', 'minutes', 'seconds']);
    let s = 0;
    for (const [k, x] of Object.entries(v)) {
      if (!known.has(k) || typeof x !== 'number' || x < 0) throw new Error('bad maxTime object');
      s += x * { days: 86400, hours: 3600, minutes: 60, seconds: 1 }[k as 'days']!;
    }
    return s;
  }
  throw new Error('bad maxTime');
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object' && v !== null)
    return Array.isArray(v) ? 'an array' : (v.constructor?.name ?? 'object');
  return `${typeof v} ${String(v)}`;
}

function closest(word: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

import type * as tf from '@tensorflow/tfjs';
import { getLearningRate, setLearningRate } from './lr.js';

/**
 * A learning-rate schedule bound to one optimizer. `step(metric?)` advances it by one interval (a step
 * or an epoch, as configured); its whole state is plain JSON so it goes into checkpoints.
 */
export abstract class LRScheduler {
  readonly optimizer: tf.Optimizer;
  readonly baseLr: number;
  /** intervals stepped so far */
  lastEpoch = 0;

  constructor(optimizer: tf.Optimizer) {
    this.optimizer = optimizer;
    this.baseLr = getLearningRate(optimizer);
  }

  /** The rate after `lastEpoch` intervals. */
  protected abstract computeLr(): number;

  step(_metric?: number): void {
    this.lastEpoch++;
    setLearningRate(this.optimizer, this.computeLr());
  }

  get lr(): number {
    return getLearningRate(this.optimizer);
  }

  stateDict(): Record<string, unknown> {
    return { lastEpoch: this.lastEpoch, lr: this.lr };
  }

  loadStateDict(state: Record<string, unknown>): void {
    this.lastEpoch = Number(state.lastEpoch);
    setLearningRate(this.optimizer, Number(state.lr));
  }
}

/** lr = base · gamma^floor(t / stepSize) */
export class StepLR extends LRScheduler {
  constructor(
    optimizer: tf.Optimizer,
    readonly options: { stepSize: number; gamma?: number },
  ) {
    super(optimizer);
    positiveInt('StepLR', 'stepSize', options.stepSize);
  }
  protected computeLr(): number {
    return this.baseLr * (this.options.gamma ?? 0.1) ** Math.floor(this.lastEpoch / this.options.stepSize);
  }
}

/** lr = base · gamma^t */
export class ExponentialLR extends LRScheduler {
  constructor(
    optimizer: tf.Optimizer,
    readonly options: { gamma: number },
  ) {
    super(optimizer);
    if (!(options.gamma > 0)) throw new Error(`ExponentialLR gamma must be > 0, got ${options.gamma}`);
  }
  protected computeLr(): number {
    return this.baseLr * this.options.gamma ** this.lastEpoch;
  }
}

/** Cosine from base down to etaMin over tMax intervals. */
export class CosineAnnealingLR extends LRScheduler {
  constructor(
    optimizer: tf.Optimizer,
    readonly options: { tMax: number; etaMin?: number },
  ) {
    super(optimizer);
    positiveInt('CosineAnnealingLR', 'tMax', options.tMax);
  }
  protected computeLr(): number {
    const etaMin = this.options.etaMin ?? 0;
    const t = Math.min(this.lastEpoch, this.options.tMax);
    return etaMin + ((this.baseLr - etaMin) * (1 + Math.cos((Math.PI * t) / this.options.tMax))) / 2;
  }
}

/** lr = base · fn(t) — warmups and anything else. */
export class LambdaLR extends LRScheduler {
  constructor(
    optimizer: tf.Optimizer,
    readonly fn: (t: number) => number,
  ) {
    super(optimizer);
    setLearningRate(optimizer, this.baseLr * fn(0));
  }
  protected computeLr(): number {
    return this.baseLr * this.fn(this.lastEpoch);
  }
}

/** Cuts the rate by `factor` when a monitored metric stops improving for `patience` intervals. */
export class ReduceLROnPlateau extends LRScheduler {
  private best: number;
  private badIntervals = 0;
  private cooldownLeft = 0;
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly cooldown: number;
  readonly minLr: number;

  constructor(
    optimizer: tf.Optimizer,
    options: {
      mode?: 'min' | 'max';
      factor?: number;
      patience?: number;
      threshold?: number;
      cooldown?: number;
      minLr?: number;
    } = {},
  ) {
    super(optimizer);
    this.mode = options.mode ?? 'min';
    this.factor = options.factor ?? 0.1;
    this.patience = options.patience ?? 10;
    this.threshold = options.threshold ?? 1e-4;
    this.cooldown = options.cooldown ?? 0;
    this.minLr = options.minLr ?? 0;
    if (!(this.factor > 0 && this.factor < 1))
      throw new Error(`ReduceLROnPlateau factor must be in (0, 1), got ${this.factor}`);
    this.best = this.mode === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  }

  protected computeLr(): number {
    return this.lr;
  }

  override step(metric?: number): void {
    if (metric === undefined)
      throw new Error(
        'ReduceLROnPlateau.step needs the monitored metric; set `monitor` in configureOptimizers',
      );
    this.lastEpoch++;
    const better =
      this.mode === 'min'
        ? metric < this.best * (1 - this.threshold)
        : metric > this.best * (1 + this.threshold);
    if (better) {
      this.best = metric;
      this.badIntervals = 0;
    } else this.badIntervals++;
    if (this.cooldownLeft > 0) {
      this.cooldownLeft--;
      this.badIntervals = 0;
    }
    if (this.badIntervals > this.patience) {
      setLearningRate(this.optimizer, Math.max(this.lr * this.factor, this.minLr));
      this.cooldownLeft = this.cooldown;
      this.badIntervals = 0;
    }
  }

  override stateDict(): Record<string, unknown> {
    return {
      ...super.stateDict(),
      best: this.best,
      badIntervals: this.badIntervals,
      cooldownLeft: this.cooldownLeft,
    };
  }

  override loadStateDict(state: Record<string, unknown>): void {
    super.loadStateDict(state);
    this.best = Number(state.best);
    this.badIntervals = Number(state.badIntervals);
    this.cooldownLeft = Number(state.cooldownLeft);
  }
}

function positiveInt(cls: string, field: string, v: unknown): void {
  if (!Number.isInteger(v) || (v as number) < 1)
    throw new Error(`${cls} ${field} must be a positive integer, got ${JSON.stringify(v)}`);
}

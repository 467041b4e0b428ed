import type { Trainer } from '../trainer/trainer.js';
import { Callback } from './callback.js';

export interface EarlyStoppingOptions {
  monitor: string;
  /** an improvement smaller than this does not count (default 0) */
  minDelta?: number;
  /** checks without improvement before stopping (default 3) */
  patience?: number;
  mode?: 'min' | 'max';
  /** a missing monitored metric is an error (default true); false: skip the check */
  strict?: boolean;
  /** stop at once when the metric becomes NaN or infinite (default true) */
  checkFinite?: boolean;
  /** stop as soon as the metric is better than this */
  stoppingThreshold?: number;
  /** stop as soon as the metric is worse than this */
  divergenceThreshold?: number;
  /**
   * check at the end of each training epoch (true) or after each validation run (false); default: at
   * epoch end only when fit validates once per epoch, at its end (Lightning's `check_on_train_epoch_end`)
   */
  checkOnTrainEpochEnd?: boolean;
}

const KNOWN = new Set([
  'monitor',
  'minDelta',
  'patience',
  'mode',
  'strict',
  'checkFinite',
  'stoppingThreshold',
  'divergenceThreshold',
  'checkOnTrainEpochEnd',
]);

/**
 * Stops fit when a monitored metric stops improving: checked after every validation run, or at the end of
 * each training epoch when fit validates once per epoch (see `checkOnTrainEpochEnd`). Never during the
 * sanity check, outside fit, or in a fastDevRun.
 */
export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly mode: 'min' | 'max';
  readonly strict: boolean;
  readonly checkFinite: boolean;
  readonly stoppingThreshold: number | undefined;
  readonly divergenceThreshold: number | undefined;
  wait = 0;
  bestScore: number;
  stoppedEpoch = -1;
  stoppingReason: string | null = null;
  private checkOnTrainEpochEnd: boolean | undefined;

  constructor(opts: EarlyStoppingOptions) {
    super();
    if (!opts || typeof opts.monitor !== 'string' || opts.monitor.length === 0) {
      throw new Error(
        'EarlyStopping needs a "monitor" metric name, e.g. new EarlyStopping({ monitor: "val/loss" })',
      );
    }
    for (const k of Object.keys(opts)) {
      if (!KNOWN.has(k))
        throw new Error(`unknown EarlyStopping option "${k}" (known: ${[...KNOWN].join(', ')})`);
    }
    this.monitor = opts.monitor;
    this.minDelta = Math.abs(opts.minDelta ?? 0);
    this.patience = opts.patience ?? 3;
    if (!Number.isInteger(this.patience) || this.patience < 0) {
      throw new Error(`EarlyStopping patience must be an integer >= 0, got ${JSON.stringify(opts.patience)}`);
    }
    this.mode = opts.mode ?? 'min';
    if (this.mode !== 'min' && this.mode !== 'max')
      throw new Error(`EarlyStopping mode must be 'min' or 'max', got ${JSON.stringify(opts.mode)}`);
    this.strict = opts.strict ?? true;
    this.checkFinite = opts.checkFinite ?? true;
    this.stoppingThreshold = opts.stoppingThreshold;
    this.divergenceThreshold = opts.divergenceThreshold;
    if (opts.checkOnTrainEpochEnd !== undefined && typeof opts.checkOnTrainEpochEnd !== 'boolean') {
      throw new Error(
        `EarlyStopping checkOnTrainEpochEnd must be a boolean, got ${JSON.stringify(opts.checkOnTrainEpochEnd)}`,
      );
    }
    this.checkOnTrainEpochEnd = opts.checkOnTrainEpochEnd;
    this.bestScore = this.mode === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  }

  override get stateKey(): string {
    return `EarlyStopping{${this.monitor},${this.mode}}`;
  }

  private better(a: number, b: number): boolean {
    return this.mode === 'min' ? a < b : a > b;
  }

  override get monitorsMetrics(): boolean {
    return true;
  }

  override setup(trainer: Trainer): void {
    const c = trainer.config;
    this.checkOnTrainEpochEnd ??= c.valCheckInterval === 1 && c.checkValEveryNEpoch === 1;
  }

  private skip(trainer: Trainer): boolean {
    return trainer.stage !== 'fit' || trainer.sanityChecking || trainer.fastDevRun > 0;
  }

  override onTrainEpochEnd(trainer: Trainer): void {
    if (this.checkOnTrainEpochEnd && !this.skip(trainer)) this.check(trainer);
  }

  override onValidationEnd(trainer: Trainer): void {
    if (!this.checkOnTrainEpochEnd && !this.skip(trainer)) this.check(trainer);
  }

  private check(trainer: Trainer): void {
    const current = trainer.callbackMetrics[this.monitor];
    if (current === undefined) {
      const logged = Object.keys(trainer.callbackMetrics).join(', ') || 'none';
      if (this.strict) {
        throw new Error(
          `EarlyStopping monitors "${this.monitor}", which was not logged (logged metrics: ${logged}); set strict: false to skip`,
        );
      }
      return;
    }
    const reason = this.evaluate(current);
    if (reason) {
      this.stoppedEpoch = trainer.currentEpoch;
      this.stoppingReason = reason;
      trainer.shouldStop = true;
      trainer.stopReason = reason;
      if (trainer.isGlobalZero) process.stderr.write(`kiln: EarlyStopping: ${reason}\n`);
    }
  }

  /** Updates the state with one new value; returns why training should stop, or null. */
  evaluate(current: number): string | null {
    const m = this.monitor;
    if (this.checkFinite && !Number.isFinite(current)) {
      return `monitored metric ${m} = ${current} is not finite; previous best was ${this.bestScore}. Stopping.`;
    }
    if (this.stoppingThreshold !== undefined && this.better(current, this.stoppingThreshold)) {
      return `stopping threshold reached: ${m} = ${current} ${this.mode === 'min' ? '<' : '>'} ${this.stoppingThreshold}`;
    }
    if (this.divergenceThreshold !== undefined && this.better(this.divergenceThreshold, current)) {
      return `divergence threshold reached: ${m} = ${current} ${this.mode === 'min' ? '>' : '<'} ${this.divergenceThreshold}`;
    }
    const improved =
      this.mode === 'min'
        ? current < this.bestScore - this.minDelta
        : current > this.bestScore + this.minDelta;
    if (improved) {
      this.bestScore = current;
      this.wait = 0;
      return null;
    }
    this.wait++;
    if (this.wait >= this.patience) {
      return `${m} did not improve by more than ${this.minDelta} in the last ${this.wait} checks; best ${this.bestScore}`;
    }
    return null;
  }

  override stateDict(): Record<string, unknown> {
    return {
      wait: this.wait,
      bestScore: this.bestScore,
      stoppedEpoch: this.stoppedEpoch,
      patience: this.patience,
    };
  }

  override loadStateDict(state: Record<string, unknown>): void {
    this.wait = Number(state.wait);
    this.bestScore = Number(state.bestScore);
    this.stoppedEpoch = Number(state.stoppedEpoch);
  }
}

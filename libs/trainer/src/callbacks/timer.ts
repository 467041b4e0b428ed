import { parseMaxTime, type TrainerOptions } from '../trainer/options.js';
import type { Trainer } from '../trainer/trainer.js';
import { Callback } from './callback.js';

/**
 * Stops training after a wall-clock budget (what `maxTime` installs). Elapsed time is saved in
 * checkpoints, so a resumed run counts the time already spent.
 */
export class Timer extends Callback {
  readonly durationSeconds: number | null;
  readonly interval: 'step' | 'epoch';
  private elapsedBefore = 0;
  private startedAt = 0;

  constructor(opts: { duration?: TrainerOptions['maxTime']; interval?: 'step' | 'epoch' } = {}) {
    super();
    this.durationSeconds = parseMaxTime(opts.duration);
    this.interval = opts.interval ?? 'step';
  }

  /** seconds of training so far, including time before a resume */
  get elapsed(): number {
    return this.elapsedBefore + (this.startedAt ? (performance.now() - this.startedAt) / 1000 : 0);
  }

  override onTrainStart(): void {
    this.startedAt = performance.now();
  }

  override onTrainEnd(): void {
    this.elapsedBefore = this.elapsed;
    this.startedAt = 0;
  }

  private check(trainer: Trainer): void {
    if (this.durationSeconds !== null && this.elapsed >= this.durationSeconds) {
      trainer.shouldStop = true;
      trainer.stopReason = `time limit of ${this.durationSeconds} s reached`;
    }
  }

  override onTrainBatchEnd(trainer: Trainer): void {
    if (this.interval === 'step') this.check(trainer);
  }

  override onTrainEpochEnd(trainer: Trainer): void {
    this.check(trainer);
  }

  override stateDict(): Record<string, unknown> {
    return { elapsed: this.elapsed };
  }

  override loadStateDict(state: Record<string, unknown>): void {
    this.elapsedBefore = Number(state.elapsed ?? 0);
  }
}

import { EXIT_CODE } from '@kiln/spec';
import type { Module } from '../core/module.js';
import type { Trainer } from '../trainer/trainer.js';
import { Callback } from './callback.js';

/**
 * On SIGTERM (a node drain, a spot reclaim, `kubectl delete pod`) finishes the current optimizer step,
 * saves `last.ckpt`, finalizes loggers, and exits with EXIT_CODE.preempted (143, retryable: the operator
 * restarts the gang and the run resumes from `last`). A second signal exits at once (the last complete
 * checkpoint still stands: saves are atomic).
 */
export class PreemptionHandler extends Callback {
  readonly signals: NodeJS.Signals[];
  readonly exitCode: number;
  readonly exit: boolean;
  requested: NodeJS.Signals | null = null;
  private listener: ((sig: NodeJS.Signals) => void) | null = null;

  constructor(opts: { signals?: NodeJS.Signals[]; exitCode?: number; exit?: boolean } = {}) {
    super();
    this.signals = opts.signals ?? ['SIGTERM'];
    this.exitCode = opts.exitCode ?? EXIT_CODE.preempted;
    this.exit = opts.exit ?? true;
  }

  override setup(trainer: Trainer, _module: Module, stage: string): void {
    if (stage !== 'fit' || this.listener) return;
    this.requested = null;
    if (this.exit) trainer.preemptExitCode = this.exitCode;
    this.listener = (sig) => {
      if (this.requested) process.exit(this.exitCode);
      this.requested = sig;
      // the Trainer saves at the next optimizer-step boundary (accumulated gradients are not saved)
      trainer.preemptRequested = true;
      process.stderr.write(
        `kiln: ${sig} received: saving a checkpoint after this step, then exiting with ${this.exitCode}\n`,
      );
    };
    for (const s of this.signals) process.on(s, this.listener);
  }

  override teardown(): void {
    if (!this.listener) return;
    for (const s of this.signals) process.off(s, this.listener);
    this.listener = null;
  }
}

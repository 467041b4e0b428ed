import { EXIT_CODE } from '@kiln/spec';

/** A mistake in how kiln was called (flags, config, script path): exit code 2, no stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The exit codes `kiln` itself uses, from the worker contract (a script under `kiln fit` may also exit
 * 75 or 78 from the distributed layer):
 *   0   success
 *   1   the training script failed (its error is printed)
 *   2   usage error: unknown or bad flags, bad config file, missing script
 *   143 preempted: SIGTERM arrived, last.ckpt was saved; retry to resume (the operator does)
 */
export const EXIT = {
  ok: EXIT_CODE.ok,
  failed: EXIT_CODE.failed,
  usage: EXIT_CODE.usage,
  preempted: EXIT_CODE.preempted,
} as const;

/** A mistake in how kiln was called (flags, config, script path): exit code 2, no stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Exit codes of `kiln`:
 *   0   success
 *   1   the training script failed (its error is printed)
 *   2   usage error: unknown or bad flags, bad config file, missing script
 *   143 preempted: SIGTERM arrived, last.ckpt was saved; retry to resume (the operator does)
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, preempted: 143 } as const;

// Labels the worker puts on each trial's TrainingJob, so one LIST per pass finds a sweep's jobs.
export const SWEEP_LABELS = {
  sweepId: 'kiln.dev/sweep-id',
  trial: 'kiln.dev/trial',
} as const;

// One trial's TrainingJob: the sweep's trial template with the sampled values merged over its
// hyperparameters (the operator hands them to the pod as KILN_HPARAMS), named after the sweep and the
// trial number so that creating it twice is a 409, never a second job.
import { createHash } from 'node:crypto';
import { LABELS, maxJobNameLength, TRAININGJOB_TYPE_META } from '@kiln/spec';
import type { SweepRow, TrialRow } from './store.js';

/** Room for the worker infix with the largest worker count the spec allows. */
const MAX_NAME = maxJobNameLength(1000);

/** `<sweep>-<number>`; a sweep name too long for that is cut and given a hash of the whole name. */
export function trialJobName(sweepName: string, trial: number): string {
  const suffix = `-${trial}`;
  if (sweepName.length + suffix.length <= MAX_NAME) return sweepName + suffix;
  const hash = createHash('sha256').update(sweepName).digest('hex').slice(0, 6);
  return `${sweepName.slice(0, MAX_NAME - suffix.length - 7).replace(/-+$/, '')}-${hash}${suffix}`;
}

export interface TrialJob {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

export function buildTrialJob(sweep: SweepRow, trial: TrialRow, opts: { suspend?: boolean } = {}): TrialJob {
  const template = sweep.spec.spec.trialTemplate as Record<string, unknown> & {
    hyperparameters?: Record<string, unknown>;
    runPolicy?: Record<string, unknown>;
    tracking?: Record<string, unknown>;
  };
  const spec: Record<string, unknown> = {
    ...template,
    hyperparameters: { ...template.hyperparameters, ...trial.params },
    tracking: { ...template.tracking, runName: trial.jobName },
  };
  if (opts.suspend) spec.runPolicy = { ...template.runPolicy, suspend: true };
  return {
    ...TRAININGJOB_TYPE_META,
    metadata: {
      name: trial.jobName,
      namespace: sweep.namespace,
      labels: {
        ...sweep.spec.metadata.labels,
        [LABELS.sweepId]: sweep.id,
        [LABELS.trial]: String(trial.number),
        ...(trial.runId ? { [LABELS.runId]: trial.runId } : {}),
      },
    },
    spec,
  };
}

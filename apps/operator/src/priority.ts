// A job's priority, resolved as Kubernetes' Priority admission resolves a pod's: the value of the
// PriorityClass named in spec.scheduling.priorityClassName; with no name, the globalDefault class (the
// lowest one, should there be several) or 0. Queued jobs are admitted highest priority first.

import type { TrainingJob } from '@kiln/spec';
import type { V1PriorityClass } from '@kubernetes/client-node';

export type Priority = { value: number } | { error: string };

export function resolvePriority(job: TrainingJob, classes: readonly V1PriorityClass[]): Priority {
  const name = job.spec.scheduling?.priorityClassName;
  if (name) {
    const found = classes.find((c) => c.metadata?.name === name);
    if (found) return { value: found.value };
    // The apiserver would refuse the worker pods, so the job cannot start until the class exists.
    return {
      error: `spec.scheduling.priorityClassName: no PriorityClass named "${name}" exists (expected the name of an existing PriorityClass, or empty for the default)`,
    };
  }
  let value: number | undefined;
  for (const c of classes) if (c.globalDefault && (value === undefined || c.value < value)) value = c.value;
  return { value: value ?? 0 };
}

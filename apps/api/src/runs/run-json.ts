// A run as the API answers it: progress with its percentage, the job reference, numbers not bigints.
import type { Run } from '@kiln/db';

const num = (v: bigint | number | null) => (v === null ? null : Number(v));

export function runJson(r: Run) {
  return {
    id: r.id,
    projectId: r.projectId,
    name: r.name,
    status: r.status,
    exitReason: r.exitReason,
    hyperparams: r.hyperparams,
    job: r.jobName ? { namespace: r.jobNamespace, name: r.jobName, uid: r.jobUid } : null,
    sweepId: r.sweepId,
    trialId: r.trialId,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    progress: {
      step: num(r.step),
      totalSteps: num(r.totalSteps),
      epoch: r.epoch,
      etaSeconds: r.etaSeconds,
      percent:
        r.step !== null && r.totalSteps ? Math.min(100, (Number(r.step) / Number(r.totalSteps)) * 100) : null,
      metrics: r.lastMetrics,
    },
  };
}

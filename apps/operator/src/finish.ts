// Finishing a job: when rank 0's success makes the job Succeeded, which pods cleanPodPolicy removes once
// it is done, and when ttlSecondsAfterFinished deletes it. Pure: the reconciler applies the verdicts.
import type { TrainingJob } from '@kiln/spec';
import type { V1Pod } from '@kubernetes/client-node';

/** How long the other workers may keep running after rank 0 succeeded before the job counts as done. */
export const SUCCESS_GRACE_MS = 5_000;

export type SuccessVerdict = { kind: 'notYet' } | { kind: 'wait'; waitMs: number } | { kind: 'succeeded' };

const live = (p: V1Pod) => p.status?.phase === 'Running' || p.status?.phase === 'Pending';

/**
 * Rank 0 finishing is the job finishing (as in Kubeflow's success policy), unless a worker failed for
 * good. The other ranks finish a moment after rank 0; they get that moment before cleanPodPolicy.
 */
export function judgeSuccess(
  rank0: V1Pod | undefined,
  pods: readonly V1Pod[],
  permanentFailure: boolean,
  now: number,
): SuccessVerdict {
  if (rank0?.status?.phase !== 'Succeeded' || permanentFailure) return { kind: 'notYet' };
  const finished = rank0.status.containerStatuses?.[0]?.state?.terminated?.finishedAt as unknown as string;
  const since = now - (Date.parse(finished) || now);
  if (pods.some(live) && since < SUCCESS_GRACE_MS) return { kind: 'wait', waitMs: SUCCESS_GRACE_MS - since };
  return { kind: 'succeeded' };
}

/** The pods a finished job's cleanPodPolicy removes: all, the unfinished ones (default), or none. */
export function podsToClean(job: TrainingJob, pods: readonly V1Pod[]): V1Pod[] {
  const policy = job.spec.runPolicy?.cleanPodPolicy ?? 'Running';
  if (policy === 'All') return [...pods];
  if (policy === 'Running') {
    return pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  }
  return [];
}

/** ms left before activeDeadlineSeconds (counted from startTime) runs out; undefined without a deadline. */
export function deadlineLeftMs(
  job: TrainingJob,
  startTime: string | undefined,
  now: number,
): number | undefined {
  const deadline = job.spec.runPolicy?.activeDeadlineSeconds;
  return deadline && startTime ? Date.parse(startTime) + deadline * 1000 - now : undefined;
}

export type TtlVerdict = { kind: 'keep' } | { kind: 'wait'; waitMs: number } | { kind: 'delete' };

/** ttlSecondsAfterFinished, counted from completionTime. */
export function judgeTtl(job: TrainingJob, completionTime: string | undefined, now: number): TtlVerdict {
  const ttl = job.spec.runPolicy?.ttlSecondsAfterFinished;
  if (ttl === undefined || !completionTime) return { kind: 'keep' };
  const left = Date.parse(completionTime) + ttl * 1000 - now;
  return left > 0 ? { kind: 'wait', waitMs: left + 50 } : { kind: 'delete' };
}

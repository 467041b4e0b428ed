// Gang start: a Starting gang becomes Running when every worker runs; it is released back to the queue
// when capacity went away after admission or when not all workers were placed within the gang timeout.
// Pure: the reconciler applies the verdict.
import { LABELS } from '@kiln/spec';
import type { V1Pod } from '@kubernetes/client-node';
import { CONSUME_ANNOTATION } from './provisioning.js';

/** The gang's pods by replica index, and the indices below `workers` that have no pod. */
export function gangMembers(pods: readonly V1Pod[], workers: number) {
  const byIndex = new Map(pods.map((p) => [Number(p.metadata?.labels?.[LABELS.replicaIndex]), p]));
  const missing: number[] = [];
  for (let i = 0; i < workers; i++) if (!byIndex.has(i)) missing.push(i);
  return { byIndex, missing };
}

export type GangStartVerdict =
  | { kind: 'running' }
  | { kind: 'release'; reason: 'CapacityLost' | 'GangTimeout'; message: string }
  /** keep waiting (creating the missing workers) and look again after `requeueAfterMs` */
  | { kind: 'wait'; requeueAfterMs: number };

export function judgeGangStart(input: {
  pods: readonly V1Pod[];
  workers: number;
  missing: readonly number[];
  /** ms the Starting condition has been True */
  startingForMs: number;
  gangTimeoutMs: number;
  /** how many workers of this job fit on the cluster now (asked only when a pod is unschedulable) */
  fitNow: () => number;
}): GangStartVerdict {
  const { pods, workers, missing } = input;
  const running = pods.filter((p) => p.status?.phase === 'Running').length;
  if (missing.length === 0 && running === workers) return { kind: 'running' };
  // Capacity went away after admission (a node removed): release now rather than at the timeout.
  const unschedulable = pods.some((p) =>
    p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False'),
  );
  // A gang admitted on capacity the autoscaler provisioned waits for its nodes to register (they are
  // not there yet, so nothing "fits"); the gang timeout bounds that wait.
  const awaitingNodes = pods.some((p) => p.metadata?.annotations?.[CONSUME_ANNOTATION]);
  if (unschedulable && !awaitingNodes && input.fitNow() < workers) {
    return {
      kind: 'release',
      reason: 'CapacityLost',
      message: `${workers} workers no longer fit; released to be admitted again`,
    };
  }
  if (input.startingForMs >= input.gangTimeoutMs) {
    const unplaced = pods.filter((p) => !p.spec?.nodeName).map((p) => p.metadata!.name);
    return {
      kind: 'release',
      reason: 'GangTimeout',
      message: `not all ${workers} workers were placed within ${input.gangTimeoutMs / 1000} s (unplaced: ${unplaced.join(', ') || 'none'}); released`,
    };
  }
  return { kind: 'wait', requeueAfterMs: input.gangTimeoutMs - input.startingForMs + 50 };
}

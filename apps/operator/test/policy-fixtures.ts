// Plain pod and job objects in the shapes the caches hold, for the policy unit tests.
import type { TrainingJob } from '@kiln/spec';
import type { V1Pod } from '@kubernetes/client-node';

export interface PodShape {
  index?: number;
  phase?: string;
  exitCode?: number;
  finishedAt?: string;
  node?: string;
  deleting?: boolean;
  disrupted?: string;
  unschedulable?: boolean;
  reason?: string;
}

export function pod(name: string, s: PodShape = {}): V1Pod {
  const conditions = [];
  if (s.disrupted) conditions.push({ type: 'DisruptionTarget', status: 'True', reason: s.disrupted });
  if (s.unschedulable) conditions.push({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' });
  return {
    metadata: {
      name,
      namespace: 'ns',
      labels: s.index === undefined ? {} : { 'kiln.dev/replica-index': String(s.index) },
      deletionTimestamp: s.deleting ? new Date() : undefined,
    },
    spec: { containers: [], nodeName: s.node },
    status: {
      phase: s.phase ?? 'Running',
      reason: s.reason,
      conditions,
      containerStatuses:
        s.exitCode === undefined
          ? undefined
          : [
              {
                name: 'trainer',
                image: 'x',
                imageID: '',
                ready: false,
                restartCount: 0,
                state: {
                  terminated: {
                    exitCode: s.exitCode,
                    finishedAt: (s.finishedAt ?? '2026-01-01T00:00:00Z') as unknown as Date,
                  },
                },
              },
            ],
    },
  };
}

/** A job with the given runPolicy fields (validation would fill the others in with their defaults). */
export function job(runPolicy: Partial<NonNullable<TrainingJob['spec']['runPolicy']>> = {}): TrainingJob {
  return {
    apiVersion: 'kiln.dev/v1alpha1',
    kind: 'TrainingJob',
    metadata: { name: 'j', namespace: 'ns', uid: 'uid-j' },
    spec: { image: 'img', command: ['train'], workers: 2, runPolicy } as unknown as TrainingJob['spec'],
  };
}

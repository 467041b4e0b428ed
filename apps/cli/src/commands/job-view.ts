// A TrainingJob as the CLI shows it: the columns `kubectl get trainingjobs` prints.
import { LABELS } from '@kiln/spec';
import { age, duration } from '../output.js';

export interface JobObject {
  metadata: { name: string; namespace?: string; creationTimestamp?: string; labels?: Record<string, string> };
  spec: { workers?: number };
  status?: {
    phase?: string;
    runId?: string;
    restarts?: number;
    workers?: { running?: number };
    progress?: { percent?: number; etaSeconds?: number; step?: number };
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export const TERMINAL_PHASES = new Set(['Succeeded', 'Failed']);

export const jobColumns: [string, (j: JobObject) => string][] = [
  ['NAME', (j) => j.metadata.name],
  ['PHASE', (j) => j.status?.phase ?? 'Pending'],
  ['WORKERS', (j) => `${j.status?.workers?.running ?? 0}/${j.spec.workers ?? 1}`],
  [
    'PROGRESS',
    (j) => (j.status?.progress?.percent === undefined ? '' : `${j.status.progress.percent.toFixed(0)}%`),
  ],
  ['ETA', (j) => duration(j.status?.progress?.etaSeconds)],
  ['RESTARTS', (j) => String(j.status?.restarts ?? 0)],
  ['AGE', (j) => age(j.metadata.creationTimestamp)],
];

/** The run the job records into: the operator's status, else the label the API set at submit. */
export function jobRunId(j: JobObject): string | undefined {
  return j.status?.runId ?? j.metadata.labels?.[LABELS.runId];
}

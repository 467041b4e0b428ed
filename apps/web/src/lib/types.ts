// Shapes the API answers with (see apps/api/src/services.ts runJson/checkpointJson).
export interface Project {
  id: string;
  name: string;
  namespace: string;
}

export type RunStatus =
  | 'pending'
  | 'queued'
  | 'starting'
  | 'running'
  | 'restarting'
  | 'succeeded'
  | 'failed'
  | 'suspended'
  | 'cancelled';

export const RUN_STATUSES: RunStatus[] = [
  'pending',
  'queued',
  'starting',
  'running',
  'restarting',
  'succeeded',
  'failed',
  'suspended',
  'cancelled',
];

export interface Run {
  id: string;
  projectId: string;
  name: string;
  status: RunStatus;
  exitReason: string | null;
  hyperparams: Record<string, unknown>;
  job: { namespace: string | null; name: string; uid: string | null } | null;
  sweepId: string | null;
  trialId: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  progress: {
    step: number | null;
    totalSteps: number | null;
    epoch: number | null;
    etaSeconds: number | null;
    percent: number | null;
    metrics: Record<string, number> | null;
  };
}

export interface Checkpoint {
  id: string;
  step: number;
  epoch: number;
  path: string;
  sizeBytes: number;
  sha256: string;
  metrics: Record<string, number> | null;
  isBest: boolean;
  isLast: boolean;
  createdAt: string;
}

export interface SeriesKey {
  key: string;
  count: number;
  lastStep: number | null;
}

export interface SeriesPoint {
  step: number;
  value: number;
  time: number;
}

export interface Series {
  key: string;
  points: SeriesPoint[];
  total: number;
  downsampled: boolean;
}

export const TERMINAL: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled']);

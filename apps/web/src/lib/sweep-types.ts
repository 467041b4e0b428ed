// Sweeps and trials as the API answers them (apps/api/src/sweeps/sweep-json.ts).
export type SweepStatus = 'running' | 'paused' | 'stopping' | 'stopped' | 'completed';
export type TrialState = 'running' | 'complete' | 'pruned' | 'failed' | 'stopped';

export interface Trial {
  id: string;
  number: number;
  state: TrialState;
  params: Record<string, unknown>;
  value: number | null;
  intermediate: { step: number; value: number }[];
  reason: string | null;
  jobName: string;
  runId: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface Sweep {
  id: string;
  projectId: string;
  name: string;
  namespace: string;
  executor: string;
  status: SweepStatus;
  message: string | null;
  objective: { metric: string; goal: 'minimize' | 'maximize' };
  maxTrials: number | null;
  parallelism: number;
  trials: Record<'total' | 'running' | 'complete' | 'pruned' | 'failed' | 'stopped', number>;
  best: Trial | null;
  spec: { spec: { parameters?: Record<string, { type: string }> } } & Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** Statuses whose limits can change and that can be paused, resumed or stopped. */
export const SWEEP_ACTIONS: Record<SweepStatus, ('pause' | 'resume' | 'stop')[]> = {
  running: ['pause', 'stop'],
  paused: ['resume', 'stop'],
  stopping: [],
  stopped: [],
  completed: [],
};

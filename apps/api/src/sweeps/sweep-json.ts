// Sweeps and trials as the API answers them.
export interface SweepRowDb {
  id: string;
  project_id: string;
  name: string;
  namespace: string;
  spec: { spec: { objective: { metric: string; goal: 'minimize' | 'maximize' } } } & Record<string, unknown>;
  executor: string;
  max_trials: number | null;
  parallelism: number;
  status: string;
  message: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export interface TrialRowDb {
  id: string;
  number: number;
  params: Record<string, unknown>;
  state: string;
  value: number | null;
  intermediate: { step: number; value: number }[];
  reason: string | null;
  job_name: string;
  run_id: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export function trialJson(t: TrialRowDb) {
  return {
    id: t.id,
    number: t.number,
    state: t.state,
    params: t.params,
    value: t.value,
    intermediate: t.intermediate,
    reason: t.reason,
    jobName: t.job_name,
    runId: t.run_id,
    createdAt: t.created_at,
    updatedAt: t.updated_at,
    finishedAt: t.finished_at,
  };
}

export function sweepJson(
  s: SweepRowDb,
  counts: Record<string, number> = {},
  best: TrialRowDb | null = null,
) {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    id: s.id,
    projectId: s.project_id,
    name: s.name,
    namespace: s.namespace,
    executor: s.executor,
    status: s.status,
    message: s.message,
    objective: s.spec.spec.objective,
    maxTrials: s.max_trials,
    parallelism: s.parallelism,
    trials: {
      total,
      running: counts.running ?? 0,
      complete: counts.complete ?? 0,
      pruned: counts.pruned ?? 0,
      failed: counts.failed ?? 0,
      stopped: counts.stopped ?? 0,
    },
    best: best ? trialJson(best) : null,
    spec: s.spec,
    createdAt: s.created_at,
    updatedAt: s.updated_at,
    finishedAt: s.finished_at,
  };
}

// Names shared by every part of the platform that reads or writes TrainingJobs. Change them here only.

export const API_GROUP = 'kiln.dev';
export const API_VERSION = 'v1alpha1';
/** `apiVersion` as written in manifests. */
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}` as const;

export const TRAININGJOB_KIND = 'TrainingJob';
export const TRAININGJOB_LIST_KIND = 'TrainingJobList';
export const TRAININGJOB_PLURAL = 'trainingjobs';
export const TRAININGJOB_SINGULAR = 'trainingjob';
export const TRAININGJOB_SHORT_NAMES = ['tj'] as const;
export const TRAININGJOB_CATEGORIES = ['kiln', 'all'] as const;
/** The CRD's own name: `<plural>.<group>`. */
export const TRAININGJOB_CRD_NAME = `${TRAININGJOB_PLURAL}.${API_GROUP}`;

/** Sweeps live in Postgres, not in etcd; the kind names the document a user writes for `kiln sweep`. */
export const SWEEP_KIND = 'Sweep';

/**
 * Labels: `jobName`, `replicaIndex` and `managedBy` the operator puts on every object it creates for a job
 * (pods, the headless Service); `runId`, `sweepId` and `trial` the sweep worker puts on each trial's
 * TrainingJob (one LIST or watch by `sweepId` finds a sweep's jobs; `trial` is the trial number).
 */
export const LABELS = {
  jobName: 'kiln.dev/job-name',
  replicaIndex: 'kiln.dev/replica-index',
  runId: 'kiln.dev/run-id',
  sweepId: 'kiln.dev/sweep-id',
  trial: 'kiln.dev/trial',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;
export const LABEL_JOB_NAME = LABELS.jobName;
export const LABEL_REPLICA_INDEX = LABELS.replicaIndex;

// The worker contract (environment names, exit codes, the progress report) is in worker-contract.ts.

/**
 * The BullMQ queue that carries "sweep X changed" events (job data `{ sweepId }`, one job per sweep at a
 * time: deduplicated by sweep id, the last event kept while a pass runs) from the API to the sweep worker.
 */
export const SWEEP_QUEUE = 'kiln-sweeps';

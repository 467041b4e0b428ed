// The worker ↔ operator contract: what a worker process reads from its environment, what its exit code
// tells the operator, and what rank 0 answers on GET /progress. The operator, the node agent, the CLI and
// the Trainer all take these from here. No `node:` imports: the dashboard bundles @kiln/spec too.
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * Environment names of the worker contract. The torch-style names are those torchrun uses, so habits
 * carry over; the KILN_ ones connect the Trainer to the platform.
 */
export const ENV = {
  // Set by the operator on every worker pod (RESERVED_ENV_NAMES: a job's own `env` may not set them).
  masterAddr: 'MASTER_ADDR',
  masterPort: 'MASTER_PORT',
  worldSize: 'WORLD_SIZE',
  rank: 'RANK',
  localRank: 'LOCAL_RANK',
  nodeRank: 'NODE_RANK',
  localWorldSize: 'LOCAL_WORLD_SIZE',
  runId: 'KILN_RUN_ID',
  job: 'KILN_JOB',
  namespace: 'KILN_NAMESPACE',
  hparams: 'KILN_HPARAMS',
  checkpointDir: 'KILN_CHECKPOINT_DIR',
  resume: 'KILN_RESUME',
  trackingUrl: 'KILN_TRACKING_URL',
  trackingToken: 'KILN_TRACKING_TOKEN',
  // Also set by the operator on every worker pod, but not reserved in the CRD (they were added later).
  /** Port rank 0 serves GET /progress on. */
  progressPort: 'KILN_PROGRESS_PORT',
  /** The pod's own IP (downward API), so workers bind to it and not to every address. */
  podIP: 'KILN_POD_IP',
  // Set by `kiln fit` (or by hand) for the Trainer.
  /** Project a run is created in when there is no KILN_RUN_ID. */
  project: 'KILN_PROJECT',
  /** Name of a run created from KILN_PROJECT (`kiln fit --run-name`); a pod's run is named after its job. */
  runName: 'KILN_RUN_NAME',
  /** JSON object of Trainer options (`kiln fit` flags). */
  trainerOptions: 'KILN_TRAINER_OPTIONS',
  /** Checkpoint to resume from (`kiln fit --ckpt-path`). */
  ckptPath: 'KILN_CKPT_PATH',
  /** '1' while `kiln fit` runs a script, so `defineScript()` does not also run it itself. */
  cli: 'KILN_CLI',
  // Tuning of the distributed layer; defaults in libs/trainer/src/distributed.
  /** Seconds ranks wait for each other at rendezvous. */
  ddpTimeoutSeconds: 'KILN_DDP_TIMEOUT_S',
  /** Seconds one collective may run before the group gives up on it. */
  ddpCollectiveTimeoutSeconds: 'KILN_DDP_COLLECTIVE_TIMEOUT_S',
  /** Gradient bucket size in MB. */
  ddpBucketMb: 'KILN_DDP_BUCKET_MB',
  /** Address rank 0's rendezvous store binds. */
  storeBind: 'KILN_STORE_BIND',
  /** 'js' forces the plain-loop gradient sum (for comparison with the SIMD one). */
  ddpAdd: 'KILN_DDP_ADD',
  /** Replaces whatever tensor backend the code asks for (tests). */
  forceBackend: 'KILN_FORCE_BACKEND',
} as const;
export type EnvName = (typeof ENV)[keyof typeof ENV];

/** Set by the operator on every worker; a job's own `env` may not set them. */
export const RESERVED_ENV_NAMES: readonly EnvName[] = [
  ENV.masterAddr,
  ENV.masterPort,
  ENV.worldSize,
  ENV.rank,
  ENV.localRank,
  ENV.nodeRank,
  ENV.localWorldSize,
  ENV.runId,
  ENV.job,
  ENV.namespace,
  ENV.hparams,
  ENV.checkpointDir,
  ENV.resume,
  ENV.trackingUrl,
  ENV.trackingToken,
];

/** The port rank 0's rendezvous store listens on unless the operator is told otherwise. */
export const DEFAULT_MASTER_PORT = 29500;
/** `KILN_RESUME` after a gang restart: resume from the last checkpoint. */
export const RESUME_AUTO = 'auto';
/** Where checkpoints go without KILN_CHECKPOINT_DIR: this folder under the Trainer's root dir. */
export const CHECKPOINT_SUBDIR = 'checkpoints';

/**
 * The Secret holding a job's run-scoped tracking token: written by whoever records the run (the API on
 * submit, the sweep worker for a trial), read by the operator into the pods as KILN_TRACKING_TOKEN.
 */
export const trackingSecretName = (jobName: string): string => `${jobName}-tracking`;
/** The key of that Secret's token (and of its run id, KILN_RUN_ID). */
export const TRACKING_SECRET_TOKEN_KEY = 'KILN_TRACKING_TOKEN';

/** The two path functions the checkpoint-dir rule needs (pass `node:path`; this file stays browser-safe). */
export interface PathFunctions {
  resolve(...paths: string[]): string;
  join(...paths: string[]): string;
}

/** Where checkpoints go: `$KILN_CHECKPOINT_DIR` (made absolute) when set, else `<rootDir>/checkpoints`. */
export function defaultCheckpointDir(
  rootDir: string,
  path: PathFunctions,
  env: Record<string, string | undefined>,
): string {
  const fromEnv = env[ENV.checkpointDir];
  return fromEnv ? path.resolve(fromEnv) : path.join(rootDir, CHECKPOINT_SUBDIR);
}

/**
 * Exit codes of a worker process and what the operator does with each. Codes in a job's
 * `restartPolicy.exitCodes` (default RESTART_EXIT_CODES_DEFAULT) restart the gang from the last
 * checkpoint; PEER_LOST is the effect of another rank's failure, never a cause; anything else fails the job.
 */
export const EXIT_CODE = {
  /** Training finished. */
  ok: 0,
  /** An uncaught error in the script: permanent. */
  failed: 1,
  /** `kiln` was called wrongly (flags, config file, missing script): permanent. */
  usage: 2,
  /** EX_TEMPFAIL (sysexits.h): a peer went away or a collective timed out; the job itself is fine. */
  peerLost: 75,
  /** EX_CONFIG (sysexits.h): the distributed environment is wrong (bad env, duplicate ranks): permanent. */
  configError: 78,
  /** 128 + SIGKILL: killed from outside (OOM killer, node lost); retryable by default. */
  killed: 137,
  /** 128 + SIGTERM: preempted, `last.ckpt` saved; retryable by default. */
  preempted: 143,
} as const;
export type ExitCode = (typeof EXIT_CODE)[keyof typeof EXIT_CODE];

/** What each exit code means, for messages and docs. */
export const EXIT_CODE_MEANINGS: Readonly<Record<ExitCode, string>> = {
  0: 'succeeded',
  1: 'failed (uncaught error)',
  2: 'usage error',
  75: 'peer lost (another rank failed or a collective timed out)',
  78: 'distributed configuration error',
  137: 'killed (SIGKILL)',
  143: 'preempted (SIGTERM, last checkpoint saved)',
};

/** `restartPolicy.exitCodes` when a job names none: killed and preempted workers resume. */
export const RESTART_EXIT_CODES_DEFAULT: number[] = [EXIT_CODE.killed, EXIT_CODE.preempted];

const Count = () => Type.Integer({ minimum: 0 });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** The last checkpoint saved, as rank 0 reports it. */
export const ProgressCheckpointSchema = Type.Object({
  step: Count(),
  path: Type.String({ minLength: 1, maxLength: 4096 }),
  /** ISO 8601 date-time */
  time: Type.String(),
});

/** Latest value of each logged metric, e.g. `train/loss`; finite numbers only. */
export const PROGRESS_MAX_METRICS = 256;

/**
 * What GET http://$KILN_POD_IP:$KILN_PROGRESS_PORT/progress answers on global rank 0. The Trainer's
 * endpoint builds exactly this; the operator reads it field by field (`readProgressReport`), so one
 * malformed field from a buggy worker costs that field, not the whole status update.
 */
export const ProgressReportSchema = Type.Object({
  /** the Trainer's status: 'running', 'sanity-check', 'finished'… */
  status: Type.String({ maxLength: 64 }),
  epoch: Count(),
  step: Count(),
  /** optimizer steps the run takes if nothing stops it early; null when unbounded or not yet known */
  totalSteps: Nullable(Count()),
  maxSteps: Nullable(Count()),
  maxEpochs: Nullable(Count()),
  /** step / totalSteps, 0..1 */
  fraction: Nullable(Type.Number({ minimum: 0, maximum: 1 })),
  percent: Nullable(Type.Number({ minimum: 0, maximum: 100 })),
  /** seconds left at the step rate since training started; null until a step has been timed */
  etaSeconds: Nullable(Count()),
  elapsedSeconds: Type.Number({ minimum: 0 }),
  metrics: Type.Record(Type.String(), Type.Number()),
  checkpoint: Type.Optional(ProgressCheckpointSchema),
});
export type ProgressReport = Static<typeof ProgressReportSchema>;

const FiniteNumber = Type.Number();

/**
 * Keeps the fields of `raw` that match ProgressReportSchema and drops the rest (and metrics that are not
 * finite numbers, past the first PROGRESS_MAX_METRICS). Undefined when `raw` is not an object.
 */
export function readProgressReport(raw: unknown): Partial<ProgressReport> | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const source = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(ProgressReportSchema.properties)) {
    const value = source[key];
    if (value === undefined) continue;
    if (key === 'metrics') {
      if (!value || typeof value !== 'object' || Array.isArray(value)) continue;
      const metrics: Record<string, number> = {};
      for (const [name, v] of Object.entries(value).slice(0, PROGRESS_MAX_METRICS)) {
        if (Value.Check(FiniteNumber, v) && Number.isFinite(v)) metrics[name] = v;
      }
      out.metrics = metrics;
    } else if (Value.Check(schema, value)) {
      out[key] = value;
    }
  }
  return out as Partial<ProgressReport>;
}

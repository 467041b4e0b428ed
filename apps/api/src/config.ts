// Everything the API reads from its environment, read once and checked, so a bad value fails at start.
import { positiveIntEnv } from '@kiln/spec';
export interface ApiConfig {
  databaseUrl: string;
  /** Bootstrap token with every right; required. */
  adminToken: string;
  port: number;
  host: string;
  /** Sustained metric points per second per token; bursts up to twice that. */
  ingestPointsPerSecond: number;
  /** Points in one ingest request, at most. */
  maxBatchPoints: number;
  /** Log lines kept per worker of a run. */
  logTailLines: number;
  /** Log lines kept per run, all workers together (the oldest go first). */
  logRunLines?: number;
  /** Metric keys (series) one run may have. */
  maxKeysPerRun?: number;
  /** Unrevoked read and write tokens one project may have (run tokens go with their runs). */
  maxTokensPerProject?: number;
  /** Hyperparameters of one run, as JSON, in bytes. */
  maxHyperparamBytes?: number;
  /** Kubeconfig for job endpoints; '' means "in-cluster or ~/.kube/config if present", 'none' disables them. */
  kubeconfig: string;
}

/** Per-tenant limits when the config leaves them out. */
export const limitDefaults = {
  logRunLines: 20_000,
  maxKeysPerRun: 10_000,
  maxTokensPerProject: 1_000,
  maxHyperparamBytes: 256 * 1024,
};

/** The config with every optional limit filled in. */
export function limitsOf(c: ApiConfig) {
  return {
    logRunLines: c.logRunLines ?? limitDefaults.logRunLines,
    maxKeysPerRun: c.maxKeysPerRun ?? limitDefaults.maxKeysPerRun,
    maxTokensPerProject: c.maxTokensPerProject ?? limitDefaults.maxTokensPerProject,
    maxHyperparamBytes: c.maxHyperparamBytes ?? limitDefaults.maxHyperparamBytes,
  };
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const adminToken = env.KILN_ADMIN_TOKEN ?? '';
  if (adminToken.length < 16)
    throw new Error('KILN_ADMIN_TOKEN must be set to a secret of at least 16 characters');
  return {
    databaseUrl: env.DATABASE_URL ?? 'postgresql://kiln:kiln@127.0.0.1:5432/kiln',
    adminToken,
    port: positiveIntEnv(env, 'PORT', 8080),
    host: env.HOST ?? '127.0.0.1',
    ingestPointsPerSecond: positiveIntEnv(env, 'KILN_INGEST_POINTS_PER_SECOND', 1_000_000),
    maxBatchPoints: positiveIntEnv(env, 'KILN_MAX_BATCH_POINTS', 100_000),
    logTailLines: positiveIntEnv(env, 'KILN_LOG_TAIL_LINES', 1000),
    logRunLines: positiveIntEnv(env, 'KILN_LOG_RUN_LINES', limitDefaults.logRunLines),
    maxKeysPerRun: positiveIntEnv(env, 'KILN_MAX_KEYS_PER_RUN', limitDefaults.maxKeysPerRun),
    maxTokensPerProject: positiveIntEnv(
      env,
      'KILN_MAX_TOKENS_PER_PROJECT',
      limitDefaults.maxTokensPerProject,
    ),
    maxHyperparamBytes: positiveIntEnv(env, 'KILN_MAX_HYPERPARAM_BYTES', limitDefaults.maxHyperparamBytes),
    kubeconfig: env.KILN_KUBECONFIG ?? '',
  };
}

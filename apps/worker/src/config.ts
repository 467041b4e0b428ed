// Everything the worker reads from its environment, checked once at start.
import { positiveIntEnv } from '@kiln/spec';
export interface WorkerConfig {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  /** '' = in-cluster or ~/.kube/config. */
  kubeconfig: string;
  /**
   * Every active sweep gets a pass this often even without events (level-triggered). Slow: trial jobs
   * are watched, so this only catches what the watch and the API's events missed.
   */
  rescanMs: number;
  /** Sweeps passed at once by one worker. */
  concurrency: number;
  logLevel: string;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return {
    databaseUrl: env.DATABASE_URL ?? 'postgresql://kiln:kiln@127.0.0.1:5432/kiln',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix: env.KILN_REDIS_PREFIX ?? 'kiln',
    kubeconfig: env.KUBECONFIG ?? '',
    rescanMs: positiveIntEnv(env, 'KILN_SWEEP_RESCAN_MS', 30_000),
    concurrency: positiveIntEnv(env, 'KILN_SWEEP_CONCURRENCY', 4),
    logLevel: env.KILN_LOG_LEVEL ?? 'info',
  };
}

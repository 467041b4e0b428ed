// Everything the worker reads from its environment, checked once at start.
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

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return {
    databaseUrl: env.DATABASE_URL ?? 'postgresql://kiln:kiln@127.0.0.1:5432/kiln',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix: env.KILN_REDIS_PREFIX ?? 'kiln',
    kubeconfig: env.KUBECONFIG ?? '',
    rescanMs: positive(env, 'KILN_SWEEP_RESCAN_MS', 30_000),
    concurrency: positive(env, 'KILN_SWEEP_CONCURRENCY', 4),
    logLevel: env.KILN_LOG_LEVEL ?? 'info',
  };
}

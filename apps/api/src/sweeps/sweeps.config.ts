// What the sweeps module reads from the environment: the worker's Redis (and key prefix) and the
// per-project limit on active sweeps.
import { positiveIntEnv } from '@kiln/spec';

export const SWEEPS_CONFIG = Symbol('SweepsConfig');
export const SWEEP_EVENTS = Symbol('SweepEvents');

export interface SweepsConfig {
  redisUrl: string;
  redisPrefix: string;
  maxActiveSweepsPerProject: number;
}

export function sweepsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SweepsConfig {
  return {
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix: env.KILN_REDIS_PREFIX ?? 'kiln',
    maxActiveSweepsPerProject: positiveIntEnv(env, 'KILN_MAX_ACTIVE_SWEEPS_PER_PROJECT', 20),
  };
}

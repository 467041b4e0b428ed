import { DEFAULT_MASTER_PORT, ENV } from '@kiln/spec';
import { DistributedConfigError } from './errors.js';

/** The torchrun-style environment contract every rank gets (ARCHITECTURE.md, "What a worker pod gets"). */
export interface DistributedEnv {
  masterAddr: string;
  masterPort: number;
  worldSize: number;
  rank: number;
  localRank: number;
  nodeRank: number;
  localWorldSize: number;
  /** KILN_RUN_ID when the platform set one; rank 0 otherwise makes one up at rendezvous. */
  runId?: string;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, min: number, fallback?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new DistributedConfigError(`${name} is not set: expected an integer >= ${min}`);
  }
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) {
    throw new DistributedConfigError(`${name}=${JSON.stringify(raw)}: expected an integer >= ${min}`);
  }
  return Number(raw);
}

/** True when the process was started as part of a multi-process group (WORLD_SIZE set). */
export function isDistributedEnv(env: Env = process.env): boolean {
  const worldSize = env[ENV.worldSize];
  return worldSize !== undefined && worldSize !== '';
}

/**
 * Reads and cross-checks the contract. Missing WORLD_SIZE means a single process: world 1, rank 0,
 * with a loopback master so a one-rank group still works.
 */
export function readDistributedEnv(env: Env = process.env): DistributedEnv {
  const worldSize = int(env, ENV.worldSize, 1, 1);
  const rank = int(env, ENV.rank, 0, worldSize === 1 ? 0 : undefined);
  if (rank >= worldSize) {
    throw new DistributedConfigError(`RANK=${rank}: expected an integer below WORLD_SIZE=${worldSize}`);
  }
  const localWorldSize = int(env, ENV.localWorldSize, 1, worldSize);
  const localRank = int(env, ENV.localRank, 0, rank % localWorldSize);
  if (localRank >= localWorldSize) {
    throw new DistributedConfigError(
      `LOCAL_RANK=${localRank}: expected an integer below LOCAL_WORLD_SIZE=${localWorldSize}`,
    );
  }
  const nodeRank = int(env, ENV.nodeRank, 0, Math.floor(rank / localWorldSize));
  const masterAddr = env[ENV.masterAddr]?.trim() || (worldSize === 1 ? '127.0.0.1' : '');
  if (!masterAddr) {
    throw new DistributedConfigError(
      `MASTER_ADDR is not set: expected rank 0's host name or IP address (WORLD_SIZE=${worldSize})`,
    );
  }
  const masterPort = int(env, ENV.masterPort, 1, worldSize === 1 ? DEFAULT_MASTER_PORT : undefined);
  if (masterPort > 65535) {
    throw new DistributedConfigError(`MASTER_PORT=${masterPort}: expected a TCP port between 1 and 65535`);
  }
  const runId = env[ENV.runId]?.trim() || undefined;
  return { masterAddr, masterPort, worldSize, rank, localRank, nodeRank, localWorldSize, runId };
}

/** The variables a child process needs to join a group, as strings for `spawn`'s env. */
export function distributedEnvVars(e: DistributedEnv): Record<string, string> {
  const vars: Record<string, string> = {
    [ENV.masterAddr]: e.masterAddr,
    [ENV.masterPort]: String(e.masterPort),
    [ENV.worldSize]: String(e.worldSize),
    [ENV.rank]: String(e.rank),
    [ENV.localRank]: String(e.localRank),
    [ENV.nodeRank]: String(e.nodeRank),
    [ENV.localWorldSize]: String(e.localWorldSize),
  };
  if (e.runId) vars[ENV.runId] = e.runId;
  return vars;
}

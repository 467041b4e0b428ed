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
  return env.WORLD_SIZE !== undefined && env.WORLD_SIZE !== '';
}

/**
 * Reads and cross-checks the contract. Missing WORLD_SIZE means a single process: world 1, rank 0,
 * with a loopback master so a one-rank group still works.
 */
export function readDistributedEnv(env: Env = process.env): DistributedEnv {
  const worldSize = int(env, 'WORLD_SIZE', 1, 1);
  const rank = int(env, 'RANK', 0, worldSize === 1 ? 0 : undefined);
  if (rank >= worldSize) {
    throw new DistributedConfigError(`RANK=${rank}: expected an integer below WORLD_SIZE=${worldSize}`);
  }
  const localWorldSize = int(env, 'LOCAL_WORLD_SIZE', 1, worldSize);
  const localRank = int(env, 'LOCAL_RANK', 0, rank % localWorldSize);
  if (localRank >= localWorldSize) {
    throw new DistributedConfigError(
      `LOCAL_RANK=${localRank}: expected an integer below LOCAL_WORLD_SIZE=${localWorldSize}`,
    );
  }
  const nodeRank = int(env, 'NODE_RANK', 0, Math.floor(rank / localWorldSize));
  const masterAddr = env.MASTER_ADDR?.trim() || (worldSize === 1 ? '127.0.0.1' : '');
  if (!masterAddr) {
    throw new DistributedConfigError(
      `MASTER_ADDR is not set: expected rank 0's host name or IP address (WORLD_SIZE=${worldSize})`,
    );
  }
  const masterPort = int(env, 'MASTER_PORT', 1, worldSize === 1 ? 29500 : undefined);
  if (masterPort > 65535) {
    throw new DistributedConfigError(`MASTER_PORT=${masterPort}: expected a TCP port between 1 and 65535`);
  }
  const runId = env.KILN_RUN_ID?.trim() || undefined;
  return { masterAddr, masterPort, worldSize, rank, localRank, nodeRank, localWorldSize, runId };
}

/** The variables a child process needs to join a group, as strings for `spawn`'s env. */
export function distributedEnvVars(e: DistributedEnv): Record<string, string> {
  const vars: Record<string, string> = {
    MASTER_ADDR: e.masterAddr,
    MASTER_PORT: String(e.masterPort),
    WORLD_SIZE: String(e.worldSize),
    RANK: String(e.rank),
    LOCAL_RANK: String(e.localRank),
    NODE_RANK: String(e.nodeRank),
    LOCAL_WORLD_SIZE: String(e.localWorldSize),
  };
  if (e.runId) vars.KILN_RUN_ID = e.runId;
  return vars;
}

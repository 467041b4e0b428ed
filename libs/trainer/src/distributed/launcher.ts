import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { ENV } from '@kiln/spec';
import { distributedEnvVars } from './env.js';
import { DistributedConfigError } from './errors.js';

export interface LaunchOptions {
  /** Script every rank runs (a .ts file runs through the same loader as this process). */
  script: string;
  args?: string[];
  /** Processes on this machine (LOCAL_WORLD_SIZE). */
  devices: number;
  numNodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  /** Rendezvous port; on a single machine a free one is picked when not given. */
  masterPort?: number;
  /** Extra environment for every rank. */
  env?: Record<string, string>;
  /** Node flags for the children; defaults to this process's (so the TypeScript loader carries over). */
  execArgv?: string[];
  stdout?: Writable;
  stderr?: Writable;
  /** How long ranks get to exit after SIGTERM before SIGKILL. */
  killGraceMs?: number;
  /** Forward SIGINT/SIGTERM received by this process to the ranks (default true). */
  forwardSignals?: boolean;
}

export interface RankExit {
  rank: number;
  localRank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LaunchResult {
  /** 0 when every rank succeeded, else the exit code of the first rank that failed. */
  exitCode: number;
  /** The first rank that failed, if any. */
  failedRank?: number;
  ranks: RankExit[];
}

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) {
    throw new DistributedConfigError(`${name}=${v}: expected an integer >= ${min}`);
  }
  return v;
}

/** A free TCP port on loopback, for a single-machine rendezvous. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen({ host, port: 0 }, resolve);
  });
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? (constants.signals as Record<string, number>)[signal] : undefined;
  return 128 + (n ?? 1);
}

/** Copies a child's output line by line with a `[rank N] ` prefix. */
function prefixLines(from: NodeJS.ReadableStream, to: Writable, prefix: string): Promise<void> {
  const rl = createInterface({ input: from, crlfDelay: Number.POSITIVE_INFINITY });
  rl.on('line', (line) => to.write(`${prefix}${line}\n`));
  return new Promise((resolve) => rl.once('close', resolve));
}

/**
 * Starts `devices` ranks of `script` on this machine with the torchrun environment contract, streams
 * their output with rank prefixes, and tears the whole group down as soon as one rank fails: a DDP
 * group with a dead member cannot make progress, and the operator restarts the gang as a whole.
 */
export async function launch(opts: LaunchOptions): Promise<LaunchResult> {
  const devices = positiveInt('devices', opts.devices, 1);
  const numNodes = positiveInt('numNodes', opts.numNodes ?? 1, 1);
  const nodeRank = positiveInt('nodeRank', opts.nodeRank ?? 0, 0);
  if (nodeRank >= numNodes) {
    throw new DistributedConfigError(`nodeRank=${nodeRank}: expected an integer below numNodes=${numNodes}`);
  }
  if (numNodes > 1 && !opts.masterAddr) {
    throw new DistributedConfigError('masterAddr is required with numNodes > 1: expected the host of node 0');
  }
  const masterAddr = opts.masterAddr ?? '127.0.0.1';
  const masterPort = opts.masterPort ?? (numNodes === 1 ? await freePort() : 29500);
  positiveInt('masterPort', masterPort, 1);
  const worldSize = devices * numNodes;
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const grace = opts.killGraceMs ?? 5000;

  const children: ChildProcess[] = [];
  const exits: Promise<RankExit>[] = [];
  const outputs: Promise<void>[] = [];
  let first: RankExit | undefined;
  let killTimer: ReturnType<typeof setTimeout> | undefined;

  const terminateAll = (signal: NodeJS.Signals) => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
    if (!killTimer) {
      killTimer = setTimeout(() => {
        for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }, grace);
    }
  };
  const onSignal = (signal: NodeJS.Signals) => terminateAll(signal);
  if (opts.forwardSignals !== false) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  for (let localRank = 0; localRank < devices; localRank++) {
    const rank = nodeRank * devices + localRank;
    const env = {
      ...process.env,
      ...opts.env,
      ...distributedEnvVars({
        masterAddr,
        masterPort,
        worldSize,
        rank,
        localRank,
        nodeRank,
        localWorldSize: devices,
        runId: opts.env?.[ENV.runId] ?? process.env[ENV.runId],
      }),
    };
    const child = spawn(
      process.execPath,
      [...(opts.execArgv ?? process.execArgv), opts.script, ...(opts.args ?? [])],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    const prefix = `[rank ${rank}] `;
    outputs.push(prefixLines(child.stdout as NodeJS.ReadableStream, stdout, prefix));
    outputs.push(prefixLines(child.stderr as NodeJS.ReadableStream, stderr, prefix));
    exits.push(
      new Promise<RankExit>((resolve) => {
        child.once('error', (err) => {
          stderr.write(`${prefix}failed to start: ${err.message}\n`);
          const e: RankExit = { rank, localRank, code: 127, signal: null };
          first ??= e;
          terminateAll('SIGTERM');
          resolve(e);
        });
        child.once('exit', (code, signal) => {
          const e: RankExit = { rank, localRank, code, signal };
          if ((code !== 0 || signal) && !first) {
            first = e;
            stderr.write(`${prefix}exited with ${signal ?? `code ${code}`}; stopping the other ranks\n`);
            terminateAll('SIGTERM');
          }
          resolve(e);
        });
      }),
    );
  }

  const ranks = await Promise.all(exits);
  await Promise.all(outputs);
  if (killTimer) clearTimeout(killTimer);
  if (opts.forwardSignals !== false) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const failed = first as RankExit | undefined;
  return failed
    ? { exitCode: exitCodeOf(failed.code, failed.signal), failedRank: failed.rank, ranks }
    : { exitCode: 0, ranks };
}

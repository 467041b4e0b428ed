import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ENV, EXIT_CODE } from '@kiln/spec';
import { type DistributedEnv, readDistributedEnv } from './env.js';
import {
  CollectiveTimeoutError,
  DistributedConfigError,
  type GroupFailure,
  PeerLostError,
  RendezvousTimeoutError,
} from './errors.js';
import type { FloatArray, ReduceOp } from './reduce-kernels.js';
import { createReadBuffer, encodeHeader, Op, Ring } from './ring.js';
import {
  type ProbeAnswer,
  StoreClient,
  StoreServer,
  StoreWaitTimeout,
  type TimeoutVerdict,
} from './store.js';

export interface ProcessGroupOptions {
  /** Defaults to the environment contract (MASTER_ADDR, WORLD_SIZE, RANK, ...). */
  env?: DistributedEnv;
  /** How long ranks wait for each other at rendezvous (KILN_DDP_TIMEOUT_S, default 300 s). */
  timeoutMs?: number;
  /**
   * How long one collective may run before the group gives up on it (KILN_DDP_COLLECTIVE_TIMEOUT_S,
   * default 600 s; see DEFAULT_COLLECTIVE_TIMEOUT_MS). Every rank then exits naming the rank(s) it
   * was waiting on.
   */
  collectiveTimeoutMs?: number;
  /** Largest all-reduce chunk in bytes (pipelining unit). */
  chunkBytes?: number;
  /** Address rank 0's store listens on (KILN_STORE_BIND, default all interfaces). */
  storeBindHost?: string;
  /**
   * What to do when a peer is lost, after pending collectives were rejected. The default prints the
   * error and exits with EXIT_CODE.peerLost after `exitGraceMs`, so no rank ever hangs on a dead ring.
   */
  onPeerLost?: (err: GroupFailure) => void;
  exitGraceMs?: number;
}

/**
 * Ten minutes. The longest legitimate wait inside a collective is a peer doing rank-0-only or
 * uneven work between two collectives: writing a checkpoint of a few GB to a shared volume (tens of
 * seconds), a first step that compiles kernels, a slow validation shard. Ten minutes covers those
 * with a wide margin, while a gang with a stopped or hung member wastes at most ten minutes of every
 * worker before the operator restarts it (PyTorch's NCCL default, 30 minutes, triples that).
 */
export const DEFAULT_COLLECTIVE_TIMEOUT_MS = 600_000;

function envSeconds(name: string, fallbackMs: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallbackMs;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0) {
    throw new DistributedConfigError(`${name}=${JSON.stringify(raw)}: expected a positive number of seconds`);
  }
  return s * 1000;
}

/** The collective timeout: the option when given, else KILN_DDP_COLLECTIVE_TIMEOUT_S, else 600 s. */
export function collectiveTimeoutMs(option?: number): number {
  if (option === undefined) return envSeconds(ENV.ddpCollectiveTimeoutSeconds, DEFAULT_COLLECTIVE_TIMEOUT_MS);
  if (typeof option !== 'number' || !Number.isFinite(option) || option <= 0) {
    throw new DistributedConfigError(
      `collectiveTimeoutMs=${JSON.stringify(option)}: expected a positive number of milliseconds`,
    );
  }
  return option;
}

/** Process groups this process has joined: ranks re-join in the same order, so counts agree. */
let generations = 0;

/**
 * A group of ranks joined through rank 0's rendezvous store and connected in a TCP ring: the
 * communication layer under the DDP strategy. All methods must be called by every rank in the same
 * order; each rank's collectives run one after another.
 */
export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  readonly localWorldSize: number;
  readonly nodeRank: number;
  private lost: GroupFailure | undefined;
  private pendingLoss: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private leaving: Promise<void> | undefined;
  private diagnosing = false;

  private constructor(
    readonly env: DistributedEnv,
    readonly runId: string,
    readonly ring: Ring,
    private readonly store: StoreClient,
    private readonly storeServer: StoreServer | undefined,
    private readonly opts: ProcessGroupOptions,
    readonly collectiveTimeoutMs: number,
  ) {
    this.rank = env.rank;
    this.worldSize = env.worldSize;
    this.localRank = env.localRank;
    this.localWorldSize = env.localWorldSize;
    this.nodeRank = env.nodeRank;
  }

  /**
   * Rendezvous: rank 0 starts the store; every rank says hello, publishes the address of its ring
   * listener, waits for everyone's, connects to the previous rank and accepts the next one.
   */
  static async init(opts: ProcessGroupOptions = {}): Promise<ProcessGroup> {
    const env = opts.env ?? readDistributedEnv();
    const timeoutMs = opts.timeoutMs ?? envSeconds(ENV.ddpTimeoutSeconds, 300_000);
    const opTimeoutMs = collectiveTimeoutMs(opts.collectiveTimeoutMs);
    const { rank, worldSize } = env;
    const where = `${env.masterAddr}:${env.masterPort}`;
    const generation = ++generations;
    let storeServer: StoreServer | undefined;
    if (rank === 0) {
      storeServer = await StoreServer.listen(
        opts.storeBindHost ?? process.env[ENV.storeBind] ?? '0.0.0.0',
        env.masterPort,
        worldSize,
        generation,
      );
    }
    // Losses seen before the group object exists still have to fail rendezvous.
    let group: ProcessGroup | undefined;
    let early: GroupFailure | undefined;
    const onLoss = (lostRank: number, reason: string, fromStore: boolean, verdict?: TimeoutVerdict) => {
      if (group) group.peerLost(lostRank, reason, fromStore, verdict);
      else early ??= failureOf(lostRank, rank, reason, verdict);
    };
    const store = await StoreClient.connect({
      host: env.masterAddr,
      port: env.masterPort,
      rank,
      worldSize,
      timeoutMs,
      generation,
      onAbort: (lostRank, reason, verdict) => onLoss(lostRank, reason, true, verdict),
      onLost: () => onLoss(0, 'the rendezvous store on rank 0 went away', true),
      activity: () => (group ? group.ring.activity() : { done: 0 }),
    });
    let listener: Server | undefined;
    try {
      const runId = await agreeOnRunId(store, env, timeoutMs);
      let sendSocket: Socket | undefined;
      let recvSocket: Socket | undefined;
      let ring: Ring | undefined;
      if (worldSize > 1) {
        const host = store.localAddress.replace(/^::ffff:/, '');
        const next = (rank + 1) % worldSize;
        const prev = (rank - 1 + worldSize) % worldSize;
        listener = createServer();
        const accepted = acceptFrom(listener, next, worldSize, timeoutMs, where);
        accepted.catch(() => {}); // awaited below; an early failure must not surface as unhandled
        await new Promise<void>((resolve, reject) => {
          (listener as Server).once('error', reject);
          (listener as Server).listen({ host, port: 0 }, resolve);
        });
        const port = (listener.address() as { port: number }).port;
        await store.set(`addr/${rank}`, `${host}:${port}`);
        const keys = Array.from({ length: worldSize }, (_, r) => `addr/${r}`);
        let addrs: string[];
        try {
          addrs = await store.wait(keys, timeoutMs);
        } catch (err) {
          if (err instanceof StoreWaitTimeout) {
            const missing = err.missing.map((k) => Number(k.slice('addr/'.length)));
            throw new RendezvousTimeoutError(missing, worldSize, timeoutMs, where);
          }
          throw err;
        }
        // The previous rank may start sending (the first barrier) before this rank has its ring:
        // keep those bytes for it.
        const ringBox: { ring?: Ring } = {};
        const earlyBytes: Buffer[] = [];
        const readBuffer = createReadBuffer();
        const nextBuffer = () => (ringBox.ring ? ringBox.ring.nextReadBuffer() : readBuffer);
        recvSocket = await connectTo(addrs[prev] as string, rank, prev, nextBuffer, (n, b) => {
          if (ringBox.ring) return ringBox.ring.onRead(n, b);
          earlyBytes.push(Buffer.from(b.subarray(0, n)));
          return true;
        });
        sendSocket = await accepted;
        ring = new Ring({
          rank,
          worldSize,
          sendSocket,
          recvSocket,
          chunkBytes: opts.chunkBytes,
          earlyBytes,
          scratch: readBuffer,
          onBroken: (lostRank, reason) => onLoss(lostRank, reason, false),
          collectiveTimeoutMs: opTimeoutMs,
          onTimeout: (info) => void group?.collectiveTimedOut(info),
        });
        ringBox.ring = ring;
      } else {
        ring = new Ring({ rank, worldSize, onBroken: () => {} });
      }
      listener?.close();
      group = new ProcessGroup(env, runId, ring, store, storeServer, opts, opTimeoutMs);
      if (early) throw early;
      await group.barrier();
      group.leaveOnExit();
      liveGroups.add(group);
      return group;
    } catch (err) {
      listener?.close();
      store.close();
      await storeServer?.close();
      throw err;
    }
  }

  // ---- collectives -------------------------------------------------------------------------

  /** In-place element-wise reduction across ranks; every rank gets bit-identical results. */
  allReduce(buf: FloatArray, op: ReduceOp = 'sum'): Promise<void> {
    return this.ring.allReduce(buf, op);
  }

  broadcast(buf: FloatArray, root = 0): Promise<void> {
    return this.ring.broadcast(buf, root);
  }

  /** `out` has worldSize equal slots; this rank's slot (index = rank) must hold its contribution. */
  allGather(out: FloatArray): Promise<void> {
    return this.ring.allGather(out);
  }

  barrier(): Promise<void> {
    return this.ring.barrier();
  }

  /** The store, for small out-of-band agreements (e.g. run ids, per-machine barriers). */
  get kv(): StoreClient {
    return this.store;
  }

  // ---- failure -----------------------------------------------------------------------------

  private peerLost(lostRank: number, reason: string, fromStore: boolean, verdict?: TimeoutVerdict): void {
    if (this.lost || this.closed) return;
    if (fromStore) {
      if (this.pendingLoss) clearTimeout(this.pendingLoss);
      this.declare(failureOf(lostRank, this.rank, reason, verdict));
      return;
    }
    // A broken neighbour connection may be a knock-on effect of a loss elsewhere: report it, and give
    // the store a moment to name the rank that failed first.
    void this.store.report(lostRank, reason);
    if (!this.pendingLoss) {
      this.pendingLoss = setTimeout(() => this.declare(new PeerLostError(lostRank, this.rank, reason)), 300);
    }
  }

  /**
   * A collective ran past the timeout. Probes every rank through the store to learn which one the
   * group is waiting on, then fails the group with that verdict on every rank (the store passes it
   * on). The first rank to time out decides; the others get its verdict, usually before their own.
   */
  private async collectiveTimedOut(info: { seq: number; op: string }): Promise<void> {
    if (this.lost || this.closed || this.diagnosing) return;
    this.diagnosing = true;
    const collective = `${info.op} #${info.seq}`;
    const answers = await this.store.probe(Math.min(5000, Math.max(1000, this.collectiveTimeoutMs)));
    if (this.lost || this.closed) return;
    const verdict: TimeoutVerdict = {
      ...diagnose(answers, info.seq, collective, this.rank, this.worldSize),
      collective,
      detectedBy: this.rank,
      timeoutMs: this.collectiveTimeoutMs,
    };
    // The verdict goes out to every rank before this rank closes its sockets: otherwise a neighbour
    // would take the closing for this rank's crash and report that first.
    // (Unless the store did not answer the probe: then it cannot pass anything on.)
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      answers ? this.store.report(verdict.waitingOn[0] as number, verdict.detail, verdict) : undefined,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 2000);
      }),
    ]);
    clearTimeout(timer);
    this.declare(failureOf(verdict.waitingOn[0] as number, this.rank, verdict.detail, verdict));
  }

  private declare(err: GroupFailure): void {
    if (this.lost) return;
    this.lost = err;
    this.ring.fail(err);
    if (this.opts.onPeerLost) {
      this.opts.onPeerLost(err);
      return;
    }
    console.error(`[rank ${this.rank}] ${err.message}; exiting with code ${EXIT_CODE.peerLost} (retryable)`);
    // However the process ends from here (the training loop's rejection surfacing as an uncaught
    // error would give 1), it ends with the retryable code, and within the grace period.
    process.once('exit', () => {
      process.exitCode = EXIT_CODE.peerLost;
    });
    setTimeout(() => process.exit(EXIT_CODE.peerLost), this.opts.exitGraceMs ?? 1000);
  }

  /** The loss or timeout that ended this group, if any. */
  get failure(): GroupFailure | undefined {
    return this.lost;
  }

  /**
   * The group's sockets do not keep the process alive between collectives, so when the training
   * script is done the event loop empties and this leaves the group cleanly (goodbyes on the ring
   * and the store) without the Trainer having to call teardown; an explicit destroy() also works.
   */
  private leaveOnExit(): void {
    const onBeforeExit = () => {
      process.off('beforeExit', onBeforeExit);
      if (!this.closed && !this.lost) void this.destroy();
    };
    process.on('beforeExit', onBeforeExit);
  }

  /**
   * Leaves the group cleanly (idempotent: every call returns the same promise): waits for this
   * rank's running collectives (bounded by the collective timeout), says goodbye on the ring and to
   * the store, and closes its sockets; rank 0 closes the store, telling everyone it does so on
   * purpose. Nothing waits for slower ranks, and their leaving later is no failure for anyone, so
   * a script may `process.exit()` right after `fit`. `flushMs` bounds each goodbye's delivery.
   */
  destroy(flushMs = 5000): Promise<void> {
    this.leaving ??= this.leave(flushMs);
    return this.leaving;
  }

  /** True once destroy() was called. */
  get left(): boolean {
    return this.leaving !== undefined;
  }

  private async leave(flushMs: number): Promise<void> {
    liveGroups.delete(this);
    await this.ring.close(flushMs);
    this.closed = true;
    if (this.pendingLoss) clearTimeout(this.pendingLoss);
    await this.store.goodbye(flushMs);
    await this.storeServer?.closeCleanly(flushMs);
  }
}

/** The error for a loss, or for a collective timeout when the store passed on a verdict. */
function failureOf(lostRank: number, detectedBy: number, reason: string, v?: TimeoutVerdict): GroupFailure {
  return v
    ? new CollectiveTimeoutError(v.waitingOn, v.collective, v.detectedBy, v.timeoutMs, v.detail)
    : new PeerLostError(lostRank, detectedBy, reason);
}

/**
 * Which ranks a collective that timed out on `self` is waiting on, from every rank's answer to a
 * probe. The causes: ranks that do not answer (stopped, hung), have left, or answer but sit idle
 * before this collective. A rank still running an earlier collective is waiting itself, so it is
 * named only when there is no cause. When every rank is in the collective, data stopped flowing:
 * blame the link from the previous rank.
 */
export function diagnose(
  answers: Record<string, ProbeAnswer> | undefined,
  seq: number,
  collective: string,
  self: number,
  worldSize: number,
): { waitingOn: number[]; detail: string } {
  if (!answers) {
    return {
      waitingOn: [0],
      detail:
        'rank 0 and the rendezvous store it hosts do not answer: stopped, hung, or blocked in a long synchronous call',
    };
  }
  const causes: [number, string][] = [];
  const waiting: [number, string][] = [];
  for (let r = 0; r < worldSize; r++) {
    if (r === self) continue;
    const a = answers[r] ?? 'no answer';
    if (a === 'no answer') {
      causes.push([r, `rank ${r} does not answer: stopped, hung, or blocked in a long synchronous call`]);
    } else if (a === 'left' || a === 'never joined') {
      causes.push([r, `rank ${r} has ${a === 'left' ? 'left the group' : 'never joined'}`]);
    } else if ((a.running && a.running.seq >= seq) || a.done > seq) {
      // in this collective or past it
    } else if (a.running) {
      waiting.push([
        r,
        `rank ${r} answers but has not reached ${collective} (it is in ${a.running.op} #${a.running.seq})`,
      ]);
    } else {
      const n = a.done;
      causes.push([
        r,
        `rank ${r} answers but has not reached ${collective} (it is idle after ${n} collective${n === 1 ? '' : 's'})`,
      ]);
    }
  }
  const named = causes.length > 0 ? causes : waiting;
  if (named.length > 0)
    return { waitingOn: named.map(([r]) => r), detail: named.map(([, w]) => w).join('; ') };
  const prev = (self - 1 + worldSize) % worldSize;
  return {
    waitingOn: [prev],
    detail: `every rank answers and is in ${collective}, but no data arrives from rank ${prev}: a stalled connection`,
  };
}

const liveGroups = new Set<ProcessGroup>();

/**
 * Leaves every process group this process still belongs to. For entry points that end with
 * `process.exit()` (which skips the automatic leave on an empty event loop): without goodbyes the
 * other ranks would take this rank's exit for a crash.
 */
export async function leaveProcessGroups(flushMs = 5000): Promise<void> {
  await Promise.all([...liveGroups].filter((g) => !g.failure).map((g) => g.destroy(flushMs)));
}

async function agreeOnRunId(store: StoreClient, env: DistributedEnv, timeoutMs: number): Promise<string> {
  if (env.rank === 0) {
    const id = env.runId ?? randomUUID();
    await store.set('run_id', id);
    return id;
  }
  try {
    const [id] = await store.wait(['run_id'], timeoutMs);
    if (env.runId && id !== env.runId) {
      throw new DistributedConfigError(
        `${ENV.runId}=${env.runId} on rank ${env.rank} but rank 0 runs ${id}: ranks from different runs met at ${env.masterAddr}:${env.masterPort}`,
      );
    }
    return id as string;
  } catch (err) {
    if (err instanceof StoreWaitTimeout) {
      throw new RendezvousTimeoutError([0], env.worldSize, timeoutMs, `${env.masterAddr}:${env.masterPort}`);
    }
    throw err;
  }
}

/** Accepts the ring connection from `expected` (the next rank), checking its hello frame. */
function acceptFrom(
  listener: Server,
  expected: number,
  worldSize: number,
  timeoutMs: number,
  where: string,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new RendezvousTimeoutError([expected], worldSize, timeoutMs, `${where} (ring connection)`)),
      timeoutMs,
    );
    listener.once('close', () => clearTimeout(timer));
    listener.on('connection', (s) => {
      s.setNoDelay(true);
      s.setKeepAlive(true, 1000);
      let got = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length < 16) return;
        s.off('data', onData);
        const from = got.readUInt32LE(4);
        if (got.readUInt8(8) !== Op.Hello || from !== expected) {
          s.destroy();
          return;
        }
        clearTimeout(timer);
        resolve(s);
      };
      s.on('data', onData);
      s.on('error', () => {});
    });
  });
}

/** Connects to the previous rank's listener with a fixed read buffer and says hello. */
function connectTo(
  addr: string,
  rank: number,
  prev: number,
  buffer: () => Uint8Array,
  callback: (n: number, b: Uint8Array) => boolean,
): Promise<Socket> {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i);
  const port = Number(addr.slice(i + 1));
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, onread: { buffer, callback } });
    s.once('error', (err) =>
      reject(new Error(`rank ${rank} could not reach rank ${prev} at ${addr}: ${err.message}`)),
    );
    s.once('connect', () => {
      s.setNoDelay(true);
      s.setKeepAlive(true, 1000);
      s.write(encodeHeader(rank, Op.Hello, 0, 0));
      resolve(s);
    });
  });
}

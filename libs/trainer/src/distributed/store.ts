import { connect, createServer, type Server, type Socket } from 'node:net';
import { DistributedConfigError, RendezvousTimeoutError } from './errors.js';
import { jsonFrameReader, writeJsonFrame } from './json-frames.js';

/**
 * The rendezvous key-value store rank 0 hosts at MASTER_ADDR:MASTER_PORT (the role of torch's
 * TCPStore). Ranks say hello with their rank, then set/get/add/wait on string keys. The store also
 * watches liveness: a rank whose connection closes without a goodbye is reported lost to everyone,
 * so every rank learns which rank died first rather than only which neighbour hung up.
 *
 * It also answers "who is holding the group up?" when a collective times out: a probe pings every
 * rank over its store connection and collects what each is doing (a stopped or hung process cannot
 * answer), and a timeout report is broadcast like a loss, so every rank fails with the same verdict.
 */

/** What a rank is doing, as it answers a probe. */
export interface RankActivity {
  /** The collective running on its ring, if any: sequence number, name, milliseconds so far. */
  running?: { seq: number; op: string; ms: number };
  /** Collectives it has finished. */
  done: number;
}

/** What the store knows about a rank after a probe: its answer, or why there is none. */
export type ProbeAnswer = RankActivity | 'no answer' | 'left' | 'never joined';

/** A collective timeout, as one rank diagnosed it and the store passes on to all. */
export interface TimeoutVerdict {
  waitingOn: number[];
  collective: string;
  detectedBy: number;
  timeoutMs: number;
  detail: string;
}

type Request =
  | { id: number; t: 'hello'; rank: number; worldSize: number; generation?: number }
  | { id: number; t: 'set'; key: string; value: string }
  | { id: number; t: 'get'; key: string }
  | { id: number; t: 'add'; key: string; delta: number }
  | { id: number; t: 'wait'; keys: string[]; timeoutMs: number }
  | { id: number; t: 'report'; lostRank: number; reason: string; timeout?: TimeoutVerdict }
  | { id: number; t: 'probe'; graceMs: number }
  | { id: number; t: 'bye' };

/** A rank's answer to the store's ping (not a request: it gets no reply). */
interface Pong {
  t: 'pong';
  ping: number;
  activity: RankActivity;
}

type Reply =
  | { id: number; t: 'ok'; value?: string | null; values?: string[]; answers?: Record<string, ProbeAnswer> }
  | { id: number; t: 'timeout'; missing: string[] }
  | { id: number; t: 'error'; message: string; retry?: boolean };

interface Abort {
  t: 'abort';
  lostRank: number;
  reason: string;
  timeout?: TimeoutVerdict;
}

/** Pushed by the store: a probe wants to know what this rank is doing. */
interface Ping {
  t: 'ping';
  ping: number;
}

/** Pushed by the store before rank 0 closes it after leaving cleanly: its going away is no crash. */
interface Closing {
  t: 'closing';
}

interface Waiter {
  keys: string[];
  done: (timedOut: boolean) => void;
}

export class StoreServer {
  private readonly data = new Map<string, string>();
  private waiters = new Set<Waiter>();
  private readonly ranks = new Map<number, { socket: Socket; saidBye: boolean }>();
  private readonly sockets = new Set<Socket>();
  private aborted: Abort | undefined;
  private nextPing = 1;
  private readonly pings = new Map<number, { rank: number; onPong: (a: RankActivity) => void }>();

  private constructor(
    private readonly server: Server,
    readonly worldSize: number,
    /** Which group of this job the store serves: ranks that re-join (fit, then test) count up. */
    readonly generation: number,
  ) {}

  /** Listens on host:port. Port 0 picks a free one (see `port`). */
  static async listen(host: string, port: number, worldSize: number, generation = 1): Promise<StoreServer> {
    const server = createServer();
    const store = new StoreServer(server, worldSize, generation);
    server.on('connection', (s) => store.accept(s));
    // The store lives as long as its rank's process wants to, not longer: the process group's
    // teardown keeps it up until every rank has left.
    server.unref();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new DistributedConfigError(
                `MASTER_PORT=${port}: ${host}:${port} is already in use; pick a free port for the rendezvous store`,
              )
            : err,
        ),
      );
      server.listen({ host, port, exclusive: true }, resolve);
    });
    return store;
  }

  get port(): number {
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    socket.unref();
    this.sockets.add(socket);
    let rank: number | undefined;
    const reply = (r: Reply | Abort) => {
      if (!socket.destroyed) writeJsonFrame(socket, r);
    };
    const onMessage = (raw: unknown) => {
      const m = raw as Request | Pong;
      switch (m.t) {
        case 'pong': {
          const p = this.pings.get(m.ping);
          if (p && p.rank === rank) p.onPong(m.activity);
          return;
        }
        case 'hello': {
          if ((m.generation ?? 1) !== this.generation) {
            // A rank already re-joining (fit done, test next) while this group is still closing:
            // it retries until the next group's store is up.
            reply({
              id: m.id,
              t: 'error',
              retry: true,
              message: `rank ${m.rank} joins group ${m.generation ?? 1} but rank 0's store serves group ${this.generation}`,
            });
            return;
          }
          if (m.worldSize !== this.worldSize) {
            reply({
              id: m.id,
              t: 'error',
              message: `rank ${m.rank} has WORLD_SIZE=${m.worldSize} but rank 0 has WORLD_SIZE=${this.worldSize}`,
            });
            return;
          }
          const prior = this.ranks.get(m.rank);
          if (prior && !prior.socket.destroyed) {
            reply({
              id: m.id,
              t: 'error',
              message: `RANK=${m.rank} joined twice: two processes were started with the same RANK`,
            });
            return;
          }
          rank = m.rank;
          this.ranks.set(m.rank, { socket, saidBye: false });
          reply({ id: m.id, t: 'ok' });
          if (this.aborted) reply(this.aborted);
          return;
        }
        case 'set':
          this.data.set(m.key, m.value);
          this.wake();
          reply({ id: m.id, t: 'ok' });
          return;
        case 'get':
          reply({ id: m.id, t: 'ok', value: this.data.get(m.key) ?? null });
          return;
        case 'add': {
          const next = Number(this.data.get(m.key) ?? '0') + m.delta;
          this.data.set(m.key, String(next));
          this.wake();
          reply({ id: m.id, t: 'ok', value: String(next) });
          return;
        }
        case 'wait': {
          const waiter: Waiter = {
            keys: m.keys,
            done: (timedOut) => {
              clearTimeout(timer);
              this.waiters.delete(waiter);
              if (timedOut)
                reply({ id: m.id, t: 'timeout', missing: m.keys.filter((k) => !this.data.has(k)) });
              else reply({ id: m.id, t: 'ok', values: m.keys.map((k) => this.data.get(k) as string) });
            },
          };
          const timer = setTimeout(() => waiter.done(true), m.timeoutMs);
          this.waiters.add(waiter);
          this.wake();
          return;
        }
        case 'report':
          this.abort(m.lostRank, m.reason, m.timeout);
          reply({ id: m.id, t: 'ok' });
          return;
        case 'probe':
          void this.probe(m.graceMs).then((answers) => reply({ id: m.id, t: 'ok', answers }));
          return;
        case 'bye': {
          const entry = rank === undefined ? undefined : this.ranks.get(rank);
          if (entry) entry.saidBye = true;
          reply({ id: m.id, t: 'ok' });
          return;
        }
      }
    };
    socket.on(
      'data',
      jsonFrameReader(onMessage, () => socket.destroy()),
    );
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (rank === undefined) return;
      const entry = this.ranks.get(rank);
      if (entry?.socket !== socket) return;
      if (!entry.saidBye) this.abort(rank, 'its connection to the rendezvous store closed');
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) if (w.keys.every((k) => this.data.has(k))) w.done(false);
  }

  private abort(lostRank: number, reason: string, timeout?: TimeoutVerdict): void {
    if (this.aborted) return;
    this.aborted = { t: 'abort', lostRank, reason, ...(timeout ? { timeout } : {}) };
    for (const { socket } of this.ranks.values()) if (!socket.destroyed) writeJsonFrame(socket, this.aborted);
  }

  /**
   * Asks every rank what it is doing and gives each `graceMs` to answer. A live rank answers at once
   * (waiting in a collective leaves its event loop idle); a stopped or blocked one cannot.
   */
  private probe(graceMs: number): Promise<Record<string, ProbeAnswer>> {
    const answers: Record<string, ProbeAnswer> = {};
    const asked: number[] = [];
    for (let r = 0; r < this.worldSize; r++) {
      const e = this.ranks.get(r);
      if (!e) answers[r] = 'never joined';
      else if (e.saidBye || e.socket.destroyed) answers[r] = 'left';
      else {
        answers[r] = 'no answer';
        asked.push(r);
      }
    }
    return new Promise((resolve) => {
      const ids: number[] = [];
      let waiting = asked.length;
      const finish = () => {
        clearTimeout(timer);
        for (const id of ids) this.pings.delete(id);
        resolve(answers);
      };
      const timer = setTimeout(finish, graceMs);
      if (waiting === 0) return finish();
      for (const r of asked) {
        const ping = this.nextPing++;
        ids.push(ping);
        this.pings.set(ping, {
          rank: r,
          onPong: (a) => {
            this.pings.delete(ping);
            answers[r] = a;
            if (--waiting === 0) finish();
          },
        });
        writeJsonFrame((this.ranks.get(r) as { socket: Socket }).socket, { t: 'ping', ping } satisfies Ping);
      }
    });
  }

  async close(): Promise<void> {
    for (const w of [...this.waiters]) w.done(true);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Rank 0 left the group cleanly: tells every connected rank the store is going away on purpose
   * (so ranks still finishing up do not take it for rank 0's crash), flushes that, then closes.
   * Rank 0 does not wait for the others to leave: a script may exit right after `fit`.
   */
  async closeCleanly(flushMs = 5000): Promise<void> {
    for (const w of [...this.waiters]) w.done(true);
    const flushed = [...this.sockets].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.destroyed) return resolve();
          const t = setTimeout(resolve, flushMs);
          t.unref();
          writeJsonFrame(s, { t: 'closing' } satisfies Closing);
          s.end(() => {
            clearTimeout(t);
            resolve();
          });
        }),
    );
    await Promise.all(flushed);
    // Stops listening now (the port is free for the next group); connections still open do not
    // hold this up: a stopped peer would never finish closing its end.
    this.server.close();
    // Half-closed sockets whose peers are still busy: they hold nothing up and go away shortly.
    setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, 2000).unref();
  }
}

export interface StoreClientOptions {
  host: string;
  port: number;
  rank: number;
  worldSize: number;
  /** How long to keep retrying the connection while rank 0's store is not up yet. */
  timeoutMs: number;
  /** The group this rank joins (see StoreServer.generation); default 1. */
  generation?: number;
  /** The store says a rank was lost (possibly this one's neighbour, possibly elsewhere). */
  onAbort?: (lostRank: number, reason: string, timeout?: TimeoutVerdict) => void;
  /** What this rank is doing, for the store's probes. */
  activity?: () => RankActivity;
  /** The connection to the store closed before `close()` (rank 0 is gone). */
  onLost?: (reason: string) => void;
}

export class StoreClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private closing = false;
  private lostReason: string | undefined;
  /** Hello answered: only from here on is losing the connection losing rank 0. */
  private joined = false;
  private heldAbort: Abort | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly opts: StoreClientOptions,
  ) {
    socket.on(
      'data',
      jsonFrameReader(
        (raw) => this.onMessage(raw as Reply | Abort | Ping | Closing),
        (err) => socket.destroy(err),
      ),
    );
    socket.on('error', () => {});
    socket.on('close', () => {
      const reason = 'the connection to the rendezvous store on rank 0 closed';
      this.lostReason = reason;
      for (const p of this.pending.values()) p.reject(new Error(reason));
      this.pending.clear();
      // A connection that closes before the hello is answered is a failed attempt, retried: it may
      // have reached the previous group's store in its last moments (fit done, test next).
      if (!this.closing && this.joined) opts.onLost?.(reason);
    });
  }

  /** The local address this process uses to reach rank 0: a routable address for the ring listener. */
  get localAddress(): string {
    return this.socket.localAddress ?? '127.0.0.1';
  }

  /** Connects (retrying while rank 0 is still starting) and says hello. */
  static async connect(opts: StoreClientOptions): Promise<StoreClient> {
    const deadline = Date.now() + opts.timeoutMs;
    let delay = 50;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect({ host: opts.host, port: opts.port });
          s.once('connect', () => {
            s.off('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 1000);
        const client = new StoreClient(socket, opts);
        const r = await client.request({
          t: 'hello',
          rank: opts.rank,
          worldSize: opts.worldSize,
          generation: opts.generation ?? 1,
        });
        if (r.t === 'error') {
          client.close();
          throw r.retry ? new Error(r.message) : new DistributedConfigError(r.message);
        }
        client.joined = true;
        const held = client.heldAbort;
        if (held) opts.onAbort?.(held.lostRank, held.reason, held.timeout);
        return client;
      } catch (err) {
        if (err instanceof DistributedConfigError) throw err;
        if (Date.now() + delay > deadline) {
          throw new RendezvousTimeoutError(
            [0],
            opts.worldSize,
            opts.timeoutMs,
            `${opts.host}:${opts.port} (rank 0's store never answered: ${(err as Error).message})`,
          );
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 1000);
      }
    }
  }

  private onMessage(m: Reply | Abort | Ping | Closing): void {
    if (m.t === 'abort') {
      // The store sends a standing abort right after answering the hello: keep it until joined.
      if (this.joined) this.opts.onAbort?.(m.lostRank, m.reason, m.timeout);
      else this.heldAbort ??= m;
      return;
    }
    if (m.t === 'ping') {
      const pong: Pong = { t: 'pong', ping: m.ping, activity: this.opts.activity?.() ?? { done: 0 } };
      if (!this.socket.destroyed) writeJsonFrame(this.socket, pong);
      return;
    }
    if (m.t === 'closing') {
      this.closing = true;
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    p.resolve(m);
  }

  // biome-ignore lint/suspicious/noExplicitAny: each request variant adds its own fields
  private request(body: { t: Request['t'] } & Record<string, any>): Promise<Reply> {
    if (this.lostReason) return Promise.reject(new Error(this.lostReason));
    const id = this.nextId++;
    // Ref'd only while a reply is awaited: an idle store connection must not keep the process alive.
    this.socket.ref();
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      writeJsonFrame(this.socket, { ...body, id });
    }).finally(() => {
      if (this.pending.size === 0 && !this.socket.destroyed) this.socket.unref();
    });
  }

  async set(key: string, value: string): Promise<void> {
    await this.request({ t: 'set', key, value });
  }

  async get(key: string): Promise<string | null> {
    const r = await this.request({ t: 'get', key });
    return r.t === 'ok' ? (r.value ?? null) : null;
  }

  /** Atomically adds `delta` to the number stored at key (0 when absent); returns the new value. */
  async add(key: string, delta: number): Promise<number> {
    const r = await this.request({ t: 'add', key, delta });
    return r.t === 'ok' ? Number(r.value) : Number.NaN;
  }

  /** Values of all keys once every one is set; on timeout rejects naming the keys still missing. */
  async wait(keys: string[], timeoutMs: number): Promise<string[]> {
    const r = await this.request({ t: 'wait', keys, timeoutMs });
    if (r.t === 'ok') return r.values ?? [];
    if (r.t === 'timeout') throw new StoreWaitTimeout(r.missing, timeoutMs);
    throw new Error(r.message);
  }

  /** Tells the store (and so every rank) that `lostRank` is gone, or why a collective timed out. */
  report(lostRank: number, reason: string, timeout?: TimeoutVerdict): Promise<void> {
    if (this.lostReason || this.socket.destroyed) return Promise.resolve();
    // The store broadcasts the abort before it answers: once this resolves, every rank has been sent it.
    return this.request({ t: 'report', lostRank, reason, ...(timeout ? { timeout } : {}) }).then(
      () => {},
      () => {},
    );
  }

  /**
   * What every rank is doing, by rank. Resolves undefined when the store itself does not answer
   * within `graceMs` plus a margin: rank 0, which hosts it, is stopped or hung (or gone).
   */
  async probe(graceMs: number): Promise<Record<string, ProbeAnswer> | undefined> {
    if (this.lostReason || this.socket.destroyed) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), graceMs + 2000);
    });
    const asked = this.request({ t: 'probe', graceMs }).then(
      (r) => (r.t === 'ok' ? r.answers : undefined),
      () => undefined,
    );
    try {
      return await Promise.race([asked, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Says goodbye, so closing is not taken for a crash, then closes. Waits at most `timeoutMs` for
   * the store's answer: a stopped rank 0 must not hold a leaving rank up.
   */
  async goodbye(timeoutMs = 5000): Promise<void> {
    this.closing = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.request({ t: 'bye' }).catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.close();
  }

  close(): void {
    this.closing = true;
    this.socket.destroy();
  }
}

export class StoreWaitTimeout extends Error {
  constructor(
    readonly missing: string[],
    timeoutMs: number,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for store keys ${missing.join(', ')}`);
    this.name = 'StoreWaitTimeout';
  }
}

import { connect, createServer, type Server, type Socket } from 'node:net';
import { DistributedConfigError, RendezvousTimeoutError } from './errors.js';
import { jsonFrameReader, writeJsonFrame } from './json-frames.js';

/**
 * The rendezvous key-value store rank 0 hosts at MASTER_ADDR:MASTER_PORT (the role of torch's
 * TCPStore). Ranks say hello with their rank, then set/get/add/wait on string keys. The store also
 * watches liveness: a rank whose connection closes without a goodbye is reported lost to everyone,
 * so every rank learns which rank died first rather than only which neighbour hung up.
 */

type Request =
  | { id: number; t: 'hello'; rank: number; worldSize: number }
  | { id: number; t: 'set'; key: string; value: string }
  | { id: number; t: 'get'; key: string }
  | { id: number; t: 'add'; key: string; delta: number }
  | { id: number; t: 'wait'; keys: string[]; timeoutMs: number }
  | { id: number; t: 'report'; lostRank: number; reason: string }
  | { id: number; t: 'bye' };

type Reply =
  | { id: number; t: 'ok'; value?: string | null; values?: string[] }
  | { id: number; t: 'timeout'; missing: string[] }
  | { id: number; t: 'error'; message: string };

interface Abort {
  t: 'abort';
  lostRank: number;
  reason: string;
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
  private byeWaiters: (() => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly worldSize: number,
  ) {}

  /** Listens on host:port. Port 0 picks a free one (see `port`). */
  static async listen(host: string, port: number, worldSize: number): Promise<StoreServer> {
    const server = createServer();
    const store = new StoreServer(server, worldSize);
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
      const m = raw as Request;
      switch (m.t) {
        case 'hello': {
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
          this.abort(m.lostRank, m.reason);
          reply({ id: m.id, t: 'ok' });
          return;
        case 'bye': {
          const entry = rank === undefined ? undefined : this.ranks.get(rank);
          if (entry) entry.saidBye = true;
          reply({ id: m.id, t: 'ok' });
          this.checkByes();
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
      this.checkByes();
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) if (w.keys.every((k) => this.data.has(k))) w.done(false);
  }

  private abort(lostRank: number, reason: string): void {
    if (this.aborted) return;
    this.aborted = { t: 'abort', lostRank, reason };
    for (const { socket } of this.ranks.values()) if (!socket.destroyed) writeJsonFrame(socket, this.aborted);
  }

  private checkByes(): void {
    const allGone = [...this.ranks.values()].every((e) => e.saidBye || e.socket.destroyed);
    if (allGone && this.ranks.size >= this.worldSize) for (const w of this.byeWaiters.splice(0)) w();
  }

  /** Resolves once every other rank said goodbye or hung up, or after `timeoutMs`. */
  waitForGoodbyes(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.byeWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
      this.checkByes();
    });
  }

  async close(): Promise<void> {
    for (const w of [...this.waiters]) w.done(true);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface StoreClientOptions {
  host: string;
  port: number;
  rank: number;
  worldSize: number;
  /** How long to keep retrying the connection while rank 0's store is not up yet. */
  timeoutMs: number;
  /** The store says a rank was lost (possibly this one's neighbour, possibly elsewhere). */
  onAbort?: (lostRank: number, reason: string) => void;
  /** The connection to the store closed before `close()` (rank 0 is gone). */
  onLost?: (reason: string) => void;
}

export class StoreClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private closing = false;
  private lostReason: string | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly opts: StoreClientOptions,
  ) {
    socket.on(
      'data',
      jsonFrameReader(
        (raw) => this.onMessage(raw as Reply | Abort),
        (err) => socket.destroy(err),
      ),
    );
    socket.on('error', () => {});
    socket.on('close', () => {
      const reason = 'the connection to the rendezvous store on rank 0 closed';
      this.lostReason = reason;
      for (const p of this.pending.values()) p.reject(new Error(reason));
      this.pending.clear();
      if (!this.closing) opts.onLost?.(reason);
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
        const r = await client.request({ t: 'hello', rank: opts.rank, worldSize: opts.worldSize });
        if (r.t === 'error') {
          client.close();
          throw new DistributedConfigError(r.message);
        }
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

  private onMessage(m: Reply | Abort): void {
    if (m.t === 'abort') {
      this.opts.onAbort?.(m.lostRank, m.reason);
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

  /** Tells the store (and so every rank) that `lostRank` is gone. */
  report(lostRank: number, reason: string): void {
    if (this.lostReason || this.socket.destroyed) return;
    void this.request({ t: 'report', lostRank, reason }).catch(() => {});
  }

  /** Says goodbye, so closing is not taken for a crash, then closes. */
  async goodbye(): Promise<void> {
    this.closing = true;
    await this.request({ t: 'bye' }).catch(() => {});
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

import type { Socket } from 'node:net';
import { ENV } from '@kiln/spec';
import { CollectiveMismatchError } from './errors.js';
import { type FloatArray, type Kernel, kernelFor, type ReduceOp } from './reduce-kernels.js';
import { arenaOf } from './simd-add.js';

/**
 * Collectives over a ring of TCP connections: each rank sends only to the next rank and receives
 * only from the previous one. Payloads go out as views of the caller's ArrayBuffer (no copy) and come
 * in through `onread` into one preallocated buffer, from where they are copied or reduced in place.
 *
 * Every chunk travels with a 16-byte header (magic, collective sequence number, op, dtype, payload
 * length) so ranks that call collectives in different orders fail with a clear error instead of
 * silently mixing data. Chunks are pipelined: as soon as a chunk is received and reduced it is
 * forwarded to the next rank, so reduce-scatter flows straight into all-gather.
 *
 * Leaving: a rank that is done sends a goodbye frame both ways (to the next rank on its send socket,
 * to the previous rank on its receive socket) and closes without waiting for anyone, so a script may
 * exit right after training while slower ranks are still finishing: they take a connection that
 * closes after a goodbye as a clean leave, not a crash.
 */

const MAGIC = 0x4b4c4e31; // "KLN1"
const HEADER_BYTES = 16;
export const Op = { Hello: 1, AllReduce: 2, Broadcast: 3, AllGather: 4, Bye: 5 } as const;
export type Op = (typeof Op)[keyof typeof Op];
const opNames: Record<number, string> = {
  1: 'hello',
  2: 'allReduce',
  3: 'broadcast',
  4: 'allGather',
  5: 'teardown',
};
const dtypeCodes = { float32: 1, float64: 2 } as const;

export function encodeHeader(seq: number, op: Op, dtype: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h.writeUInt32LE(MAGIC, 0);
  h.writeUInt32LE(seq >>> 0, 4);
  h.writeUInt8(op, 8);
  h.writeUInt8(dtype, 9);
  h.writeUInt16LE(0, 10);
  h.writeUInt32LE(length, 12);
  return h;
}

/** One chunk this rank expects from the previous rank, in stream order. */
interface RecvStep {
  seq: number;
  op: Op;
  dtype: number;
  /** Element range in the collective's buffer. */
  start: number;
  end: number;
  reduce: boolean;
  forward: boolean;
}

interface Collective {
  seq: number;
  startedAt: number;
  op: Op;
  dtype: number;
  buf: FloatArray;
  bytes: Uint8Array;
  kernel: Kernel | undefined;
  /** Where incoming chunks to reduce land (in the buffer's own WebAssembly memory when it has one). */
  staging: Uint8Array;
  /** The buffer's arena: add in place with SIMD, no copies. */
  arena: ReturnType<typeof arenaOf>;
  steps: RecvStep[];
  nextStep: number;
  pendingWrites: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface RingOptions {
  rank: number;
  worldSize: number;
  /** Socket this rank writes to (accepted from the next rank). Absent for a world of one. */
  sendSocket?: Socket;
  /** Socket this rank reads from (connected to the previous rank, created with `onread`). */
  recvSocket?: Socket;
  /** Largest chunk in bytes; also the size of the receive staging buffer. */
  chunkBytes?: number;
  /** The receive socket's scratch `onread` buffer (see `nextReadBuffer`). */
  scratch?: Buffer;
  /** Bytes the receive socket delivered before the ring existed, oldest first. */
  earlyBytes?: Buffer[];
  /** Called once with the rank whose connection broke (or that left too early) and why. */
  onBroken: (lostRank: number, reason: string) => void;
  /** How long one collective may run before `onTimeout` (none when absent). */
  collectiveTimeoutMs?: number;
  /** A collective ran past `collectiveTimeoutMs`; it keeps waiting until the ring is failed. */
  onTimeout?: (info: { seq: number; op: string; waitedMs: number }) => void;
}

/** What the ring is doing, for a probe (see store.ts RankActivity). */
export interface RingActivity {
  running?: { seq: number; op: string; ms: number };
  done: number;
}

export const DEFAULT_CHUNK_BYTES = 1 << 20;

/** The `onread` buffer a ring's receive socket must be created with. */
export function createReadBuffer(): Buffer {
  return Buffer.allocUnsafe(4 << 20);
}

export class Ring {
  readonly rank: number;
  readonly worldSize: number;
  private readonly prev: number;
  private readonly next: number;
  private readonly chunkBytes: number;
  private send: Socket | undefined;
  private recv: Socket | undefined;
  private seq = 0;
  private tail: Promise<void> = Promise.resolve();
  private current: Collective | undefined;
  private failure: Error | undefined;
  private readonly stagingBytes: Uint8Array;
  // Receive state: bytes of the header gathered so far, then payload bytes of the current step.
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private inPayload = false;
  /** A complete header sits in `header`, not yet matched to a receive step. */
  private headerReady = false;
  private payloadFill = 0;
  private payloadLen = 0;
  /** Bytes that arrived before this rank entered the collective they belong to. */
  private backlog: Buffer[] = [];
  private readonly scratch: Buffer;
  /** What the pending read lands in: the scratch buffer, or straight into a header or payload. */
  private target: 'scratch' | 'header' | 'payload' = 'scratch';
  /** This rank is leaving: connections closing from here on are expected. */
  private byeQueued = false;
  /** The previous rank said goodbye (after this many collectives) on the receive socket. */
  private byeReceived = false;
  /** The next rank said goodbye on the send socket, after `nextLeftAfter` collectives. */
  private nextLeft = false;
  private nextLeftAfter = 0;
  private prevLeftAfter = 0;
  private reverse: Buffer = Buffer.alloc(0);
  private done = 0;
  /** Collectives called and not yet settled; while any is, the sockets keep the process alive. */
  private active = 0;

  constructor(private readonly opts: RingOptions) {
    this.rank = opts.rank;
    this.worldSize = opts.worldSize;
    this.prev = (opts.rank - 1 + opts.worldSize) % opts.worldSize;
    this.next = (opts.rank + 1) % opts.worldSize;
    this.chunkBytes = Math.max(8, Math.floor((opts.chunkBytes ?? DEFAULT_CHUNK_BYTES) / 8) * 8);
    this.stagingBytes = new Uint8Array(new ArrayBuffer(this.chunkBytes));
    this.backlog = opts.earlyBytes ?? [];
    this.scratch = opts.scratch ?? createReadBuffer();
    this.send = opts.sendSocket;
    this.recv = opts.recvSocket;
    this.send?.on('error', () => {});
    this.send?.on('close', () => {
      if (!this.byeQueued && !this.nextLeft)
        this.broken(this.next, `its connection closed (rank ${this.next} crashed or exited)`);
    });
    // The next rank writes to us only to say goodbye.
    this.send?.on('data', (d: Buffer) => this.onReverse(d));
    this.send?.unref();
    this.recv?.unref();
    this.recv?.on('error', () => {});
    this.recv?.on('close', () => {
      if (!this.byeReceived && !this.byeQueued)
        this.broken(this.prev, `its connection closed (rank ${this.prev} crashed or exited)`);
    });
  }

  /**
   * The `onread` buffer generator for the receive socket: Node calls it before every read. While a
   * chunk is expected the read goes straight into its final place (the header, the destination
   * region, or the staging area for a reduction), so payload bytes are copied once, by the kernel;
   * otherwise into the scratch buffer, from where `consume` sorts them out.
   */
  readonly nextReadBuffer = (): Uint8Array => {
    this.target = 'scratch';
    if (this.failure || this.backlog.length > 0 || this.headerReady) return this.scratch;
    if (!this.inPayload) {
      this.target = 'header';
      return this.header.subarray(this.headerFill, HEADER_BYTES);
    }
    const c = this.current as Collective;
    const step = c.steps[c.nextStep] as RecvStep;
    this.target = 'payload';
    if (step.reduce) return c.staging.subarray(this.payloadFill, this.payloadLen);
    const at = step.start * c.buf.BYTES_PER_ELEMENT;
    return c.bytes.subarray(at + this.payloadFill, at + this.payloadLen);
  };

  /** The `onread` callback for the receive socket; pass it when connecting. */
  readonly onRead = (nread: number, buf: Uint8Array): boolean => {
    if (this.failure) return true;
    const target = this.target;
    this.target = 'scratch';
    if (target === 'header') {
      this.headerFill += nread;
      if (this.headerFill === HEADER_BYTES) {
        this.headerFill = 0;
        this.headerReady = true;
        this.takeHeader();
      }
      return true;
    }
    if (target === 'payload') {
      this.payloadFill += nread;
      if (this.payloadFill === this.payloadLen) this.finishStep();
      return true;
    }
    const b = buf as Buffer;
    if (this.backlog.length > 0) {
      // Older bytes are still waiting; these go behind them.
      this.backlog.push(Buffer.from(b.subarray(0, nread)));
      this.recv?.pause();
      return false;
    }
    return this.consume(b, 0, nread);
  };

  private broken(lostRank: number, reason: string): void {
    if (this.failure) return;
    this.opts.onBroken(lostRank, reason);
  }

  /** Rejects the running and every later collective with `err` and closes the sockets. */
  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    const c = this.current;
    this.current = undefined;
    c?.reject(err);
    this.send?.destroy();
    this.recv?.destroy();
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /** The running collective and how many have finished, for a probe. */
  activity(): RingActivity {
    const c = this.current;
    return c
      ? {
          running: { seq: c.seq, op: opNames[c.op] as string, ms: Date.now() - c.startedAt },
          done: this.done,
        }
      : { done: this.done };
  }

  /** A neighbour left after `after` collectives: fine unless this rank is, or gets, past that. */
  private checkLeft(c: Collective | undefined): void {
    if (this.failure || this.byeQueued) return;
    const gone: [number, number][] = [];
    if (this.byeReceived) gone.push([this.prev, this.prevLeftAfter]);
    if (this.nextLeft) gone.push([this.next, this.nextLeftAfter]);
    for (const [r, after] of gone) {
      if (!c || c.seq < after) continue;
      this.broken(
        r,
        `it left the group after ${after} collective${after === 1 ? '' : 's'} while rank ${this.rank} ` +
          `runs ${opNames[c.op]} #${c.seq}: it failed (see its log) or ran fewer collectives than this rank`,
      );
      return;
    }
  }

  /** Goodbye frames from the next rank, on the socket this rank otherwise only writes to. */
  private onReverse(d: Buffer): void {
    this.reverse = this.reverse.length === 0 ? d : Buffer.concat([this.reverse, d]);
    while (this.reverse.length >= HEADER_BYTES) {
      const h = this.reverse.subarray(0, HEADER_BYTES);
      this.reverse = this.reverse.subarray(HEADER_BYTES);
      if (h.readUInt32LE(0) !== MAGIC || h.readUInt8(8) !== Op.Bye) continue;
      this.nextLeft = true;
      this.nextLeftAfter = h.readUInt32LE(4);
      this.checkLeft(this.current);
    }
  }

  // ---- collectives -------------------------------------------------------------------------

  /** In-place all-reduce: every rank ends with the element-wise `op` of all ranks' buffers. */
  allReduce(buf: FloatArray, op: ReduceOp = 'sum'): Promise<void> {
    return this.enqueue(Op.AllReduce, buf, op, (n, c) => {
      const N = this.worldSize;
      const r = this.rank;
      const seg = (j: number): [number, number] => {
        const k = ((j % N) + N) % N;
        return [Math.floor((k * n) / N), Math.floor(((k + 1) * n) / N)];
      };
      const steps: RecvStep[] = [];
      for (let s = 0; s < N - 1; s++) this.pushChunks(steps, c, seg(r - s - 1), true, true);
      for (let s = 0; s < N - 1; s++) this.pushChunks(steps, c, seg(r - s), false, s < N - 2);
      return { initial: seg(r), steps };
    });
  }

  /** Copies `root`'s buffer into every rank's buffer (same length everywhere). */
  broadcast(buf: FloatArray, root: number): Promise<void> {
    return this.enqueue(Op.Broadcast, buf, undefined, (n, c) => {
      const steps: RecvStep[] = [];
      if (this.rank === root) return { initial: [0, n], steps };
      this.pushChunks(steps, c, [0, n], false, this.next !== root);
      return { initial: [0, 0], steps };
    });
  }

  /**
   * Gathers equal-sized contributions: `out` holds worldSize slots of `out.length / worldSize`
   * elements; this rank's slot must already hold its own contribution.
   */
  allGather(out: FloatArray): Promise<void> {
    const N = this.worldSize;
    if (out.length % N !== 0) {
      return Promise.reject(
        new RangeError(`allGather: out.length ${out.length} is not a multiple of worldSize ${N}`),
      );
    }
    return this.enqueue(Op.AllGather, out, undefined, (n, c) => {
      const m = n / N;
      const slot = (j: number): [number, number] => {
        const k = ((j % N) + N) % N;
        return [k * m, (k + 1) * m];
      };
      const steps: RecvStep[] = [];
      for (let s = 0; s < N - 1; s++) this.pushChunks(steps, c, slot(this.rank - s - 1), false, s < N - 2);
      return { initial: slot(this.rank), steps };
    });
  }

  /** Resolves once every rank has reached the barrier. */
  async barrier(): Promise<void> {
    await this.allReduce(new Float32Array(1));
  }

  private pushChunks(
    steps: RecvStep[],
    c: Collective,
    [start, end]: [number, number],
    reduce: boolean,
    forward: boolean,
  ): void {
    const per = this.chunkBytes / c.buf.BYTES_PER_ELEMENT;
    for (let s = start; s < end; s += per) {
      steps.push({
        seq: c.seq,
        op: c.op,
        dtype: c.dtype,
        start: s,
        end: Math.min(end, s + per),
        reduce,
        forward,
      });
    }
  }

  private enqueue(
    op: Op,
    buf: FloatArray,
    reduceOp: ReduceOp | undefined,
    plan: (n: number, c: Collective) => { initial: [number, number]; steps: RecvStep[] },
  ): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.byeQueued) {
      return Promise.reject(
        new Error(`${opNames[op]} called after this rank left the process group (teardown)`),
      );
    }
    const dtype = buf instanceof Float64Array ? 'float64' : 'float32';
    const seq = this.seq++;
    this.hold(1);
    const run = () =>
      new Promise<void>((resolve, reject) => {
        if (this.failure) return reject(this.failure);
        if (this.worldSize === 1) return resolve();
        // Buffers from allocReduceBuffer are summed in place with SIMD. Others use the JS loop:
        // copying them into WebAssembly memory and back costs more than the loop saves (bench/ddp).
        // KILN_DDP_ADD=js forces the loop everywhere, for comparison.
        const simdSum = reduceOp === 'sum' && dtype === 'float32' && process.env[ENV.ddpAdd] !== 'js';
        let arena = simdSum ? arenaOf(buf) : undefined;
        if (arena && arena.stagingBytes < this.chunkBytes) arena = undefined;
        const timer = this.opts.collectiveTimeoutMs
          ? setTimeout(() => {
              if (this.current === c && !this.failure)
                this.opts.onTimeout?.({ seq, op: opNames[op] as string, waitedMs: Date.now() - c.startedAt });
            }, this.opts.collectiveTimeoutMs)
          : undefined;
        const c: Collective = {
          seq,
          startedAt: Date.now(),
          op,
          dtype: dtypeCodes[dtype],
          buf,
          bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
          kernel: reduceOp ? kernelFor(dtype, reduceOp) : undefined,
          staging: arena
            ? arena.mem.bytes.subarray(arena.staging, arena.staging + this.chunkBytes)
            : this.stagingBytes,
          arena,
          steps: [],
          nextStep: 0,
          pendingWrites: 0,
          resolve: () => {
            clearTimeout(timer);
            this.done++;
            resolve();
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        };
        const { initial, steps } = plan(buf.length, c);
        c.steps = steps;
        this.current = c;
        this.checkLeft(c);
        if (this.failure) return;
        const per = this.chunkBytes / buf.BYTES_PER_ELEMENT;
        for (let s = initial[0]; s < initial[1]; s += per)
          this.writeChunk(c, s, Math.min(initial[1], s + per));
        this.drainBacklog();
        this.maybeFinish(c);
      });
    const p = this.tail.then(run, run);
    const settled = p.then(
      () => this.hold(-1),
      () => this.hold(-1),
    );
    this.tail = settled;
    return p;
  }

  /**
   * An idle ring must not keep the process alive (so it can exit, and tear down, when training is
   * done), but a rank waiting for its peers must: sockets are ref'd only while a collective runs.
   */
  private hold(delta: number): void {
    this.active += delta;
    for (const s of [this.send, this.recv]) {
      if (!s || s.destroyed) continue;
      if (this.active > 0) s.ref();
      else s.unref();
    }
  }

  private writeChunk(c: Collective, start: number, end: number): void {
    const send = this.send as Socket;
    const E = c.buf.BYTES_PER_ELEMENT;
    const payload = Buffer.from(c.buf.buffer, c.buf.byteOffset + start * E, (end - start) * E);
    c.pendingWrites++;
    send.cork();
    send.write(encodeHeader(c.seq, c.op, c.dtype, payload.length));
    send.write(payload, () => {
      c.pendingWrites--;
      this.maybeFinish(c);
    });
    send.uncork();
  }

  private maybeFinish(c: Collective): void {
    if (this.current !== c || c.nextStep < c.steps.length || c.pendingWrites > 0) return;
    this.current = undefined;
    c.resolve();
  }

  // ---- receive path ------------------------------------------------------------------------

  private drainBacklog(): void {
    if (this.headerReady && !this.takeHeader()) return;
    const pending = this.backlog;
    this.backlog = [];
    for (let i = 0; i < pending.length; i++) {
      if (this.failure) return;
      const b = pending[i] as Buffer;
      // consume() sets aside what it cannot place yet; what was behind it has to stay behind it.
      if (!this.consume(b, 0, b.length)) {
        this.backlog.push(...pending.slice(i + 1));
        break;
      }
    }
    if (this.backlog.length === 0 && !this.headerReady && this.recv?.isPaused()) this.recv.resume();
  }

  /** Processes buf[from, to); returns false (pausing the socket) when bytes had to be set aside. */
  private consume(buf: Buffer, from: number, to: number): boolean {
    let i = from;
    while (i < to) {
      if (this.failure) return true;
      if (!this.inPayload) {
        if (this.headerReady) {
          // The previous rank is already in a collective this rank has not entered: keep its bytes.
          this.backlog.push(Buffer.from(buf.subarray(i, to)));
          this.recv?.pause();
          return false;
        }
        const take = Math.min(HEADER_BYTES - this.headerFill, to - i);
        buf.copy(this.header, this.headerFill, i, i + take);
        this.headerFill += take;
        i += take;
        if (this.headerFill < HEADER_BYTES) break;
        this.headerFill = 0;
        this.headerReady = true;
        this.takeHeader();
        continue;
      }
      const take = Math.min(this.payloadLen - this.payloadFill, to - i);
      const c = this.current as Collective;
      const step = c.steps[c.nextStep] as RecvStep;
      const src = buf.subarray(i, i + take);
      if (step.reduce) c.staging.set(src, this.payloadFill);
      else c.bytes.set(src, step.start * c.buf.BYTES_PER_ELEMENT + this.payloadFill);
      this.payloadFill += take;
      i += take;
      if (this.payloadFill === this.payloadLen) this.finishStep();
    }
    return true;
  }

  /**
   * Acts on a complete header: a goodbye is taken at once; a chunk header starts a receive step if
   * this rank is inside a collective, else waits (headerReady stays set) until it enters one.
   * Returns false when the header is still waiting or the ring failed.
   */
  private takeHeader(): boolean {
    const op = this.header.readUInt8(8);
    if (op === Op.Bye && this.header.readUInt32LE(0) === MAGIC) {
      this.headerReady = false;
      this.byeReceived = true;
      this.prevLeftAfter = this.header.readUInt32LE(4);
      // Everything the previous rank sent came before its goodbye: a collective still waiting for
      // chunks from it will never get them.
      const c = this.current;
      if (c && c.nextStep < c.steps.length) this.prevLeftAfter = Math.min(this.prevLeftAfter, c.seq);
      this.checkLeft(c);
      return !this.failure;
    }
    const c = this.current;
    if (!c || c.nextStep >= c.steps.length) return false;
    this.headerReady = false;
    if (!this.startStep()) return false;
    if (this.payloadLen === 0) this.finishStep();
    return true;
  }

  /** Checks the header against what this rank expects next; fails the ring on a mismatch. */
  private startStep(): boolean {
    const h = this.header;
    const magic = h.readUInt32LE(0);
    const seq = h.readUInt32LE(4);
    const op = h.readUInt8(8);
    const dtype = h.readUInt8(9);
    const len = h.readUInt32LE(12);
    if (magic !== MAGIC) {
      this.fail(new CollectiveMismatchError(`rank ${this.rank}: corrupt frame from rank ${this.prev}`));
      return false;
    }
    const c = this.current as Collective;
    const step = c.steps[c.nextStep] as RecvStep;
    const want = (step.end - step.start) * c.buf.BYTES_PER_ELEMENT;
    if (seq !== step.seq || op !== step.op || dtype !== step.dtype || len !== want) {
      this.fail(
        new CollectiveMismatchError(
          `rank ${this.rank} is in ${opNames[step.op]} #${step.seq} expecting ${want} bytes of dtype ${step.dtype}, ` +
            `but rank ${this.prev} sent ${opNames[op] ?? `op ${op}`} #${seq} with ${len} bytes of dtype ${dtype}: ` +
            'every rank must call the same collectives, in the same order, on buffers of the same size',
        ),
      );
      return false;
    }
    this.inPayload = true;
    this.payloadFill = 0;
    this.payloadLen = len;
    return true;
  }

  private finishStep(): void {
    this.inPayload = false;
    const c = this.current as Collective;
    const step = c.steps[c.nextStep] as RecvStep;
    c.nextStep++;
    if (step.reduce) {
      const E = c.buf.BYTES_PER_ELEMENT;
      const n = step.end - step.start;
      if (c.arena) {
        c.arena.mem.add(c.buf.byteOffset + step.start * E, c.arena.staging, n);
      } else {
        const st = c.staging;
        const src =
          E === 4
            ? new Float32Array(st.buffer, st.byteOffset, n)
            : new Float64Array(st.buffer, st.byteOffset, n);
        (c.kernel as Kernel)(c.buf, step.start, src, n);
      }
    }
    if (step.forward) this.writeChunk(c, step.start, step.end);
    this.maybeFinish(c);
  }

  // ---- teardown ----------------------------------------------------------------------------

  /**
   * Leaves the ring: waits for this rank's collectives to settle (bounded by the collective timeout),
   * says goodbye both ways with the number of collectives run, hands that to the kernel (at most
   * `flushMs`) and closes. It does not wait for the neighbours: they may still be finishing up.
   */
  async close(flushMs: number): Promise<void> {
    await this.tail;
    const sockets = [this.send, this.recv].filter((s): s is Socket => !!s && !s.destroyed);
    if (this.failure || this.worldSize === 1 || this.byeQueued) {
      if (!this.byeQueued) for (const s of sockets) s.destroy();
      return;
    }
    this.byeQueued = true;
    const bye = encodeHeader(this.seq, Op.Bye, 0, 0);
    await Promise.all(
      sockets.map(
        (s) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(resolve, flushMs);
            s.end(bye, () => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
    for (const s of sockets) s.unref();
    // A neighbour still finishing up keeps its end open a little; nothing here waits for it.
    setTimeout(() => {
      for (const s of sockets) s.destroy();
    }, 2000).unref();
  }
}

import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

export interface AppenderOptions {
  /** Write to disk once this many bytes are buffered. */
  maxBufferBytes?: number;
  /** Write to disk when a write arrives this long after the last flush (no timers: nothing keeps Node alive). */
  maxDelayMs?: number;
}

// Buffers are flushed synchronously when the process exits normally or through process.exit, so a
// script that ends without calling finalize still leaves its metrics on disk.
const exitFlushes = new Set<() => void>();
process.on('exit', () => {
  for (const flush of exitFlushes) flush();
});

/** Runs `flush` (synchronous) if the process exits while it is registered; returns the unregister. */
export function flushOnExit(flush: () => void): () => void {
  exitFlushes.add(flush);
  return () => exitFlushes.delete(flush);
}

/** An append-only file written through a small in-memory buffer. */
export class Appender {
  private fd: number | null;
  private chunks: Buffer[] = [];
  private bytes = 0;
  private lastFlush = Date.now();
  private readonly maxBufferBytes: number;
  private readonly maxDelayMs: number;
  private readonly unregister: () => void;

  constructor(
    readonly path: string,
    opts: AppenderOptions = {},
  ) {
    this.maxBufferBytes = opts.maxBufferBytes ?? 64 * 1024;
    this.maxDelayMs = opts.maxDelayMs ?? 2000;
    this.fd = openSync(path, 'a');
    this.unregister = flushOnExit(() => this.flush());
  }

  write(data: string | Uint8Array): void {
    if (this.fd === null) throw new Error(`write to ${this.path} after it was closed`);
    // callers hand over their bytes: wrap them without a copy
    const buf =
      typeof data === 'string'
        ? Buffer.from(data, 'utf8')
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.chunks.push(buf);
    this.bytes += buf.length;
    if (this.bytes >= this.maxBufferBytes || Date.now() - this.lastFlush >= this.maxDelayMs) this.flush();
  }

  flush(): void {
    this.lastFlush = Date.now();
    if (this.fd === null || this.bytes === 0) return;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes);
    this.chunks = [];
    this.bytes = 0;
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off);
  }

  /** Flushes, fsyncs (unless `sync: false`) and closes; later calls do nothing. */
  close(opts: { sync?: boolean } = {}): void {
    if (this.fd === null) return;
    this.flush();
    if (opts.sync !== false) fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
    this.unregister();
  }
}

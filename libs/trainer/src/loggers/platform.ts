// PlatformLogger: pushes a run's metrics, hyperparameters, checkpoints and progress to the Kiln API over
// HTTP (Node's fetch; no platform code is imported). Points are batched by count and time and sent
// gzipped. Every request goes through an on-disk journal first and is retried with exponential backoff
// until the API takes it, in order, so an API or database outage loses nothing: the metric endpoint is
// idempotent on (run, key, step), so a batch resent after an unseen success is not stored twice.
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { ENV } from '@kiln/spec';
import type { CheckpointInfo, Logger, Progress, RunStatus } from './logger.js';
import { Journal, type JournalEntry } from './platform-journal.js';

const gzipAsync = promisify(gzip);

export interface PlatformLoggerOptions {
  /** API base URL, e.g. http://kiln-api.kiln:8080 (KILN_TRACKING_URL). */
  url: string;
  /** Bearer token: a run token (pods get one as KILN_TRACKING_TOKEN) or a project write token. */
  token: string;
  /** The run to write to (KILN_RUN_ID). Without it, a run is created in `project` on first use. */
  runId?: string;
  /** Project id to create the run in when there is no runId (KILN_PROJECT). */
  project?: string;
  runName?: string;
  /** Folder for the journal; keep it on storage that outlives the process (e.g. the checkpoint volume). */
  spoolDir?: string;
  /** Points per request, at most (default 5,000). */
  batchSize?: number;
  /** Longest a point waits before being sent (default 1,000 ms). */
  flushIntervalMs?: number;
  /** Least time between two progress reports (default 5,000 ms); the latest one always goes. */
  progressIntervalMs?: number;
  /** First retry delay, doubled per failure up to maxRetryDelayMs (defaults 200 ms and 15 s). */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** How long finalize waits for the API before leaving the rest in the journal (default 60 s). */
  finalizeTimeoutMs?: number;
  /** Per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** Where warnings go (default console.warn). */
  warn?: (message: string) => void;
}

/** A PlatformLogger configured from the environment, or undefined when KILN_TRACKING_URL is not set. */
export function platformLoggerFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: Partial<PlatformLoggerOptions> = {},
): PlatformLogger | undefined {
  const url = env[ENV.trackingUrl];
  if (!url) return undefined;
  const token = env[ENV.trackingToken];
  if (!token)
    throw new Error(
      `${ENV.trackingUrl} is set but ${ENV.trackingToken} is not: the platform logger needs a token`,
    );
  const runId = env[ENV.runId] || undefined;
  const project = env[ENV.project] || undefined;
  if (!runId && !project)
    throw new Error(`${ENV.trackingUrl} is set but neither ${ENV.runId} nor ${ENV.project} is`);
  // the spool sits beside the checkpoints, so a restarted pod on the same volume sends what was left
  const checkpointDir = env[ENV.checkpointDir];
  const base = checkpointDir ? join(checkpointDir, '.kiln-spool') : join('.kiln', 'spool');
  return new PlatformLogger({
    url,
    token,
    runId,
    project,
    // KILN_RUN_NAME: `kiln fit --run-name`; in a pod the run is named after its TrainingJob
    runName: env[ENV.runName] || env[ENV.job],
    spoolDir: base,
    ...overrides,
  });
}

/** Errors the API will answer the same way however often it is asked: retrying cannot help. */
class PermanentError extends Error {}

const statusMap: Record<RunStatus, string> = {
  success: 'succeeded',
  failed: 'failed',
  interrupted: 'cancelled',
};

export class PlatformLogger implements Logger {
  readonly name = 'platform';
  private readonly o: Required<Omit<PlatformLoggerOptions, 'runId' | 'project' | 'runName'>> &
    Pick<PlatformLoggerOptions, 'project' | 'runName'>;
  private runId: string | undefined;
  private token: string;
  private journal: Journal | undefined;
  private readonly queue: JournalEntry[] = [];
  private points: { key: string; step: number; value: number; time: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lastProgressAt = 0;
  private pendingProgress: Progress | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private droppedNonFinite = 0;
  /** Requests the API refused for good (4xx other than 408/429), kept for inspection. */
  readonly rejected: { entry: JournalEntry; status: number; message: string }[] = [];
  /** Requests that failed and were retried, for tests and diagnostics. */
  retries = 0;

  constructor(opts: PlatformLoggerOptions) {
    if (!opts.runId && !opts.project) throw new Error('PlatformLogger needs runId or project');
    this.runId = opts.runId;
    this.token = opts.token;
    this.o = {
      url: opts.url.replace(/\/+$/, ''),
      token: opts.token,
      project: opts.project,
      runName: opts.runName,
      spoolDir: opts.spoolDir ?? join('.kiln', 'spool'),
      batchSize: opts.batchSize ?? 5000,
      flushIntervalMs: opts.flushIntervalMs ?? 1000,
      progressIntervalMs: opts.progressIntervalMs ?? 5000,
      retryDelayMs: opts.retryDelayMs ?? 200,
      maxRetryDelayMs: opts.maxRetryDelayMs ?? 15_000,
      finalizeTimeoutMs: opts.finalizeTimeoutMs ?? 60_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      warn: opts.warn ?? ((m) => console.warn(`[kiln platform] ${m}`)),
    };
    if (this.runId) this.openJournal(this.runId);
  }

  /** The run being written to, once known. */
  get run(): string | undefined {
    return this.runId;
  }

  /** Entries written to the journal and not yet accepted by the API. */
  get pending(): number {
    return this.queue.length + (this.points.length ? 1 : 0);
  }

  logMetrics(metrics: Record<string, number>, step: number): void {
    if (this.closed) return;
    const time = Date.now();
    for (const [key, value] of Object.entries(metrics)) {
      // The API stores finite numbers only; a NaN loss would otherwise sink the whole batch.
      if (!Number.isFinite(value)) {
        if (this.droppedNonFinite++ === 0)
          this.o.warn(`dropping non-finite value of ${key} at step ${step} (and any later ones)`);
        continue;
      }
      this.points.push({ key, step, value, time });
    }
    if (this.points.length >= this.o.batchSize) this.cutBatch();
    else if (!this.timer && this.points.length) {
      this.timer = setTimeout(() => this.cutBatch(), this.o.flushIntervalMs);
      this.timer.unref();
    }
  }

  logHyperparams(params: Record<string, unknown>): void {
    this.enqueue('PATCH', '/api/v1/runs/{run}', { hyperparams: JSON.parse(JSON.stringify(params)) });
  }

  logCheckpoint(info: CheckpointInfo): void {
    const metrics = Object.fromEntries(Object.entries(info.metrics).filter(([, v]) => Number.isFinite(v)));
    this.enqueue('POST', '/api/v1/runs/{run}/checkpoints', { ...info, metrics });
  }

  /** Progress goes at most every progressIntervalMs; the latest report is never lost. */
  logProgress(progress: Progress): void {
    if (this.closed) return;
    this.pendingProgress = progress;
    const wait = this.lastProgressAt + this.o.progressIntervalMs - Date.now();
    if (wait <= 0) this.sendProgress();
    else if (!this.progressTimer) {
      this.progressTimer = setTimeout(() => this.sendProgress(), wait);
      this.progressTimer.unref();
    }
  }

  /** Sends everything buffered and waits until the API has it (or finalizeTimeoutMs passes). */
  async flush(timeoutMs = this.o.finalizeTimeoutMs): Promise<boolean> {
    this.cutBatch();
    if (this.pendingProgress) this.sendProgress();
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length && Date.now() < deadline) {
      this.kick();
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.queue.length === 0;
  }

  async finalize(status: RunStatus): Promise<void> {
    if (this.closed) return;
    this.cutBatch();
    if (this.pendingProgress) this.sendProgress();
    this.enqueue('PATCH', '/api/v1/runs/{run}', { status: statusMap[status] });
    this.closed = true;
    const done = await this.flush();
    if (!done)
      this.o.warn(
        `the API did not take ${this.queue.length} request(s) in time; they stay in ${this.journal?.file ?? 'memory'} and are sent by the next logger for this run`,
      );
    if (this.droppedNonFinite) this.o.warn(`dropped ${this.droppedNonFinite} non-finite metric value(s)`);
    this.stopSender = true;
    this.wake?.();
    await this.sending;
  }

  private stopSender = false;

  private sendProgress() {
    const p = this.pendingProgress;
    if (this.progressTimer) clearTimeout(this.progressTimer);
    this.progressTimer = undefined;
    if (!p) return;
    this.pendingProgress = undefined;
    this.lastProgressAt = Date.now();
    const metrics = Object.fromEntries(Object.entries(p.metrics).filter(([, v]) => Number.isFinite(v)));
    const eta = p.etaSeconds !== null && Number.isFinite(p.etaSeconds) ? Math.max(0, p.etaSeconds) : null;
    this.enqueue('PATCH', '/api/v1/runs/{run}', {
      progress: { step: p.step, totalSteps: p.totalSteps, epoch: p.epoch, etaSeconds: eta, metrics },
    });
  }

  private cutBatch() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.points.length) {
      const batch = this.points.splice(0, this.o.batchSize);
      // Columns per key: about half the bytes of one object per point, and faster for the API to parse.
      const byKey = new Map<string, { key: string; steps: number[]; values: number[]; times: number[] }>();
      for (const p of batch) {
        let s = byKey.get(p.key);
        if (!s) {
          s = { key: p.key, steps: [], values: [], times: [] };
          byKey.set(p.key, s);
        }
        s.steps.push(p.step);
        s.values.push(p.value);
        s.times.push(p.time);
      }
      this.enqueue('POST', '/api/v1/runs/{run}/metrics', { series: [...byKey.values()] });
    }
  }

  private openJournal(runId: string) {
    const file = join(this.o.spoolDir, `${runId}.journal`);
    const { journal, pending } = Journal.open(file);
    this.journal = journal;
    // Entries left by an earlier process for this run go first.
    this.queue.unshift(...pending);
  }

  private enqueue(method: JournalEntry['method'], path: string, body: unknown) {
    const entry = this.journal
      ? this.journal.append(method, path, body)
      : { seq: -(this.queue.length + 1), method, path, body }; // held in memory until the run exists
    this.queue.push(entry);
    this.kick();
  }

  private kick() {
    if (this.wake) this.wake();
    if (!this.sending) this.sending = this.sendLoop().finally(() => (this.sending = undefined));
  }

  private async sendLoop(): Promise<void> {
    let delay = this.o.retryDelayMs;
    while (this.queue.length && !this.stopSender) {
      try {
        if (!this.runId) {
          try {
            await this.createRun();
          } catch (e) {
            if (!(e instanceof PermanentError)) throw e;
            this.o.warn('cannot create the run; nothing will be sent to the platform');
            this.stopSender = true;
            return;
          }
        }
        const entry = this.queue[0]!;
        await this.send(entry);
        this.queue.shift();
        if (entry.seq > 0) this.journal?.ack(entry.seq);
        delay = this.o.retryDelayMs;
      } catch (e) {
        if (e instanceof PermanentError) {
          const entry = this.queue.shift()!;
          if (entry.seq > 0) this.journal?.ack(entry.seq);
          continue;
        }
        this.retries++;
        // Exponential backoff with jitter; a new entry or flush() wakes the loop early only after it.
        const wait = delay * (0.5 + Math.random() / 2);
        delay = Math.min(this.o.maxRetryDelayMs, delay * 2);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          t.unref();
          this.wake = () => {
            if (this.stopSender) {
              clearTimeout(t);
              resolve();
            }
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** Creates the run (local `kiln fit --track`) and switches to its run-scoped token. */
  private async createRun() {
    const res = await this.request('POST', `/api/v1/projects/${this.o.project}/runs`, {
      name: this.o.runName ?? `run-${new Date().toISOString()}`,
      status: 'running',
      issueToken: true,
    });
    const run = (await res.json()) as { id: string; token: string };
    this.runId = run.id;
    this.token = run.token;
    const held = this.queue.splice(0);
    this.openJournal(run.id);
    for (const e of held) this.queue.push(this.journal!.append(e.method, e.path, e.body));
  }

  private async send(entry: JournalEntry) {
    await this.request(entry.method, entry.path.replace('{run}', this.runId!), entry.body, entry);
  }

  private async request(
    method: string,
    path: string,
    body: unknown,
    entry?: JournalEntry,
  ): Promise<Response> {
    const json = JSON.stringify(body);
    const zipped = json.length > 1024;
    const payload = zipped ? await gzipAsync(json) : json;
    let res: Response;
    try {
      res = await fetch(this.o.url + path, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          'content-type': 'application/json',
          ...(zipped && { 'content-encoding': 'gzip' }),
        },
        body: payload,
        signal: AbortSignal.timeout(this.o.requestTimeoutMs),
      });
    } catch (e) {
      throw new Error(`${method} ${path}: ${(e as Error).message}`);
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    if (res.status >= 500 || res.status === 408 || res.status === 429 || res.status === 401)
      throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    // 4xx: the request itself is wrong and will never succeed; record it and move on.
    this.o.warn(`API refused ${method} ${path} (HTTP ${res.status}): ${text.slice(0, 300)}`);
    if (entry) this.rejected.push({ entry, status: res.status, message: text });
    throw new PermanentError(text);
  }
}

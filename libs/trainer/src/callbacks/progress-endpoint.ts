// The progress endpoint the operator reads into a TrainingJob's status (and so into `kubectl get tj`):
// GET http://$KILN_POD_IP:$KILN_PROGRESS_PORT/progress on global rank 0, answering the worker contract's
// ProgressReport (@kiln/spec): step, totalSteps, epoch, percent, etaSeconds, metrics, last checkpoint. Every answer is built from the Trainer's
// fields when the request arrives, so training pays nothing per step; requests are served in the
// macrotask turns the loop already yields (every ~50 ms), so a slow or stuck client never blocks it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ENV, type ProgressReport } from '@kiln/spec';
import type { Module } from '../core/module.js';
import type { Stage } from '../data/datamodule.js';
import type { Trainer } from '../trainer/trainer.js';
import { Callback } from './callback.js';

/** How often (at most) the endpoint reads a training step's loss back for its report. */
const LOSS_EVERY_MS = 1000;

export interface ProgressEndpointOptions {
  /** TCP port; 0 takes any free one (see `address`). */
  port: number;
  /** address to bind (default 127.0.0.1) */
  host?: string;
  /** where a failure to bind is reported; training goes on without the endpoint (default stderr) */
  warn?: (message: string) => void;
}

/** Reads KILN_PROGRESS_PORT (and KILN_POD_IP); undefined when the port is not set. */
export function progressEndpointFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ProgressEndpoint | undefined {
  const raw = env[ENV.progressPort];
  if (raw === undefined || raw.trim() === '') return undefined;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65535) {
    throw new Error(
      `${ENV.progressPort}=${JSON.stringify(raw)}: expected a TCP port, an integer from 0 to 65535 (0: any free port)`,
    );
  }
  return new ProgressEndpoint({ port, host: env[ENV.podIP] || undefined });
}

/**
 * Serves the run's progress over HTTP during fit, on global rank 0 only. The Trainer adds one when
 * KILN_PROGRESS_PORT is set (the operator sets it in every worker pod); it closes when fit ends, however
 * it ends. A port that cannot be bound is a warning, not a failed run.
 */
export class ProgressEndpoint extends Callback {
  readonly port: number;
  readonly host: string;
  private readonly warn: (message: string) => void;
  private server: Server | null = null;
  private trainer: Trainer | null = null;
  private startedAt = 0;
  private startStep = 0;
  private lastLoss: number | null = null;
  private lossReadAt = 0;

  constructor(opts: ProgressEndpointOptions) {
    super();
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
      throw new Error(`ProgressEndpoint port: expected an integer from 0 to 65535, got ${opts.port}`);
    }
    this.port = opts.port;
    this.host = opts.host ?? '127.0.0.1';
    this.warn = opts.warn ?? ((m) => process.stderr.write(`kiln: ${m}\n`));
  }

  /** where it listens while fit runs (null otherwise), e.g. to find the port when asked for 0 */
  get address(): { host: string; port: number } | null {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : null;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  override async setup(trainer: Trainer, _module: Module, stage: Stage): Promise<void> {
    if (stage !== 'fit' || !trainer.isGlobalZero || this.server) return;
    this.trainer = trainer;
    this.startedAt = 0;
    this.lastLoss = null;
    const server = createServer((req, res) => this.answer(req, res));
    // a client that stops reading must not hold the process or the close at the end of fit
    server.requestTimeout = 5_000;
    server.keepAliveTimeout = 1_000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.port, this.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.warn(
        `progress endpoint: cannot listen on ${this.host}:${this.port} (${ENV.podIP}, ${ENV.progressPort}): ${(err as Error).message}; training goes on without it`,
      );
      return;
    }
    server.on('error', (err) => this.warn(`progress endpoint: ${err.message}`));
    server.unref(); // never what keeps the process alive
    this.server = server;
  }

  override onTrainStart(trainer: Trainer): void {
    this.startedAt = performance.now();
    this.startStep = trainer.globalStep;
  }

  override onTrainBatchEnd(_t: Trainer, _m: Module, outputs: { loss: number | null }): void {
    // reading the loss waits for the device; a polled report needs it at most every LOSS_EVERY_MS
    const now = performance.now();
    if (this.lastLoss !== null && now - this.lossReadAt < LOSS_EVERY_MS) return;
    const loss = outputs.loss;
    if (loss !== null) {
      this.lastLoss = loss;
      this.lossReadAt = now;
    }
  }

  override async teardown(_trainer: Trainer, _module: Module, stage: Stage): Promise<void> {
    if (stage === 'fit') await this.close();
  }

  /** Stops listening and drops open connections; safe to call more than once. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** The report as of now; `metrics` holds the latest value of everything logged plus the last step's `loss`. */
  report(): ProgressReport {
    const t = this.trainer;
    if (!t) throw new Error('ProgressEndpoint.report() before fit started');
    const step = t.globalStep;
    // unknown until the first epoch sized its loader (during the sanity check, say)
    const total = t.numTrainBatches > 0 ? t.estimatedTotalSteps() : null;
    const fraction = total ? Math.min(1, step / total) : null;
    const elapsed = this.startedAt ? (performance.now() - this.startedAt) / 1000 : 0;
    const done = step - this.startStep;
    const eta =
      total !== null && done > 0 && elapsed > 0
        ? Math.max(0, Math.round(((total - step) * elapsed) / done))
        : null;
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(t.callbackMetrics)) if (Number.isFinite(v)) metrics[k] = v;
    if (this.lastLoss !== null && Number.isFinite(this.lastLoss) && !('loss' in metrics))
      metrics.loss = this.lastLoss;
    const out: ProgressReport = {
      status: t.sanityChecking ? 'sanity-check' : t.status,
      epoch: t.currentEpoch,
      step,
      totalSteps: total,
      maxSteps: t.maxSteps >= 0 ? t.maxSteps : null,
      maxEpochs: t.maxEpochs >= 0 ? t.maxEpochs : null,
      fraction,
      percent: fraction === null ? null : Math.round(fraction * 1000) / 10,
      etaSeconds: eta,
      elapsedSeconds: Math.round(elapsed * 10) / 10,
      metrics,
    };
    const c = t.lastCheckpoint;
    if (c) out.checkpoint = { step: c.step, path: c.path, time: c.time };
    return out;
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/progress') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `no ${path} here; GET /progress` }));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `${req.method} /progress: only GET` }));
      return;
    }
    let body: string;
    try {
      body = JSON.stringify(this.report());
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (err as Error).message }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

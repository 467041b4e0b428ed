// Progress comes from the job's rank 0, which serves it over HTTP at
// http://<worker-0 pod IP>:$KILN_PROGRESS_PORT/progress (the worker contract's ProgressReport, in
// @kiln/spec). The operator pulls it, so workers need no API credentials or RBAC and progress reaches `kubectl get tj` even when the Kiln API is down; a pull per
// running job every few seconds is a trivial load. Missing fields are derived (percent from step and
// totalSteps, ETA from the step rate between two reads).
import { LABELS, readProgressReport, type TrainingJobStatus } from '@kiln/spec';
import type { V1Pod } from '@kubernetes/client-node';

type Progress = NonNullable<TrainingJobStatus['progress']>;
type Checkpoint = NonNullable<TrainingJobStatus['lastCheckpoint']>;

/**
 * The status fields from rank 0's report. Fields that do not match the worker contract's
 * ProgressReportSchema are dropped one by one, so a buggy worker cannot make the status write fail
 * validation; percent is derived from step and totalSteps when missing.
 */
export function progressFromReport(
  raw: unknown,
): { progress: Progress; checkpoint?: Checkpoint } | undefined {
  const report = readProgressReport(raw);
  if (!report) return undefined;
  const progress: Progress = {};
  const { step, totalSteps, epoch, percent, etaSeconds, metrics } = report;
  if (step !== undefined) progress.step = step;
  if (typeof totalSteps === 'number') progress.totalSteps = totalSteps;
  if (epoch !== undefined) progress.epoch = epoch;
  if (typeof percent === 'number') progress.percent = round(percent);
  else if (step !== undefined && totalSteps)
    progress.percent = round(Math.min(100, (100 * step) / totalSteps));
  if (typeof etaSeconds === 'number') progress.etaSeconds = etaSeconds;
  if (metrics) progress.metrics = metrics;
  let checkpoint: Checkpoint | undefined;
  const c = report.checkpoint;
  if (c) {
    const time = Number.isNaN(Date.parse(c.time)) ? new Date() : new Date(c.time);
    // status times are RFC 3339 without fractions, like every other Kubernetes time
    checkpoint = { step: c.step, path: c.path, time: time.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }
  return { progress, checkpoint };
}

const round = (n: number) => Math.round(n * 10) / 10;

/** Reads rank 0's progress; undefined when it does not answer (not started yet, or gone). */
export async function readProgress(podIP: string, port: number, timeoutMs = 1000): Promise<unknown> {
  try {
    const res = await fetch(`http://${podIP}:${port}/progress`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    return await res.json();
  } catch {
    return undefined;
  }
}

/** Fills etaSeconds from the step rate since the previous reading of the same job. */
export class EtaEstimator {
  private readonly last = new Map<string, { step: number; at: number; rate?: number }>();

  apply(key: string, progress: Progress, now = Date.now()): void {
    if (progress.step === undefined) return;
    const prev = this.last.get(key);
    let rate = prev?.rate;
    if (prev && progress.step > prev.step && now > prev.at) {
      const r = (progress.step - prev.step) / ((now - prev.at) / 1000);
      rate = rate === undefined ? r : 0.7 * rate + 0.3 * r;
    }
    this.last.set(key, { step: progress.step, at: now, rate });
    if (
      progress.etaSeconds === undefined &&
      rate &&
      progress.totalSteps &&
      progress.totalSteps >= progress.step
    ) {
      progress.etaSeconds = Math.round((progress.totalSteps - progress.step) / rate);
    }
  }

  forget(key: string): void {
    this.last.delete(key);
  }
}

/** Reads rank 0's progress into a job's status, at most once per interval per job. */
export class ProgressPoller {
  private readonly eta = new EtaEstimator();
  private readonly readAt = new Map<string, number>();

  constructor(
    private readonly port: number,
    private readonly intervalMs: number,
  ) {}

  async refresh(key: string, pods: readonly V1Pod[], status: TrainingJobStatus, now: number): Promise<void> {
    if (now - (this.readAt.get(key) ?? 0) < this.intervalMs * 0.9) return;
    const ip = pods.find((p) => p.metadata?.labels?.[LABELS.replicaIndex] === '0')?.status?.podIP;
    if (!ip) return;
    this.readAt.set(key, now);
    const read = progressFromReport(await readProgress(ip, this.port));
    if (!read) return;
    this.eta.apply(key, read.progress, now);
    status.progress = read.progress;
    if (read.checkpoint) status.lastCheckpoint = read.checkpoint;
  }

  forget(key: string): void {
    this.eta.forget(key);
    this.readAt.delete(key);
  }
}

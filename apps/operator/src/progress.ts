// Progress comes from the job's rank 0, which serves it over HTTP at
// http://<worker-0 pod IP>:$KILN_PROGRESS_PORT/progress (JSON: step, totalSteps, epoch, percent,
// etaSeconds, metrics, checkpoint {step, path, time}). The operator pulls it, so workers need no API
// credentials or RBAC and progress reaches `kubectl get tj` even when the Kiln API is down; a pull per
// running job every few seconds is a trivial load. Missing fields are derived (percent from step and
// totalSteps, ETA from the step rate between two reads).
import type { TrainingJobStatus } from './spec.js';

type Progress = NonNullable<TrainingJobStatus['progress']>;
type Checkpoint = NonNullable<TrainingJobStatus['lastCheckpoint']>;

const int = (v: unknown) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;

/** Keeps only well-formed fields, so a buggy worker cannot make the status write fail validation. */
export function sanitizeProgress(raw: unknown): { progress: Progress; checkpoint?: Checkpoint } | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  const progress: Progress = {};
  const step = int(r.step);
  if (step !== undefined) progress.step = step;
  const total = int(r.totalSteps);
  if (total !== undefined) progress.totalSteps = total;
  const epoch = int(r.epoch);
  if (epoch !== undefined) progress.epoch = epoch;
  if (typeof r.percent === 'number' && r.percent >= 0 && r.percent <= 100)
    progress.percent = round(r.percent);
  else if (step !== undefined && total) progress.percent = round(Math.min(100, (100 * step) / total));
  const eta = int(r.etaSeconds);
  if (eta !== undefined) progress.etaSeconds = eta;
  if (r.metrics && typeof r.metrics === 'object') {
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(r.metrics).slice(0, 256)) {
      if (typeof v === 'number' && Number.isFinite(v)) metrics[k] = v;
    }
    progress.metrics = metrics;
  }
  let checkpoint: Checkpoint | undefined;
  const c = r.checkpoint as Record<string, unknown> | undefined;
  if (c && int(c.step) !== undefined && typeof c.path === 'string' && c.path) {
    const time =
      typeof c.time === 'string' && !Number.isNaN(Date.parse(c.time)) ? c.time : new Date().toISOString();
    checkpoint = {
      step: int(c.step)!,
      path: c.path,
      time: new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
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

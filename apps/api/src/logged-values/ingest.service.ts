// Metric ingest: a checked batch of logged values → series ids → the point store, then one live event.
import { type Db, type PointColumns, SeriesCache, writePoints } from '@kiln/db';
import { ConflictException, Inject, Injectable } from '@nestjs/common';
import { type ApiConfig, limitsOf } from '../config.js';
import type { RunRef } from '../core/lookup.js';
import { PointRateLimiter } from '../core/rate-limit.js';
import { API_CONFIG, DB } from '../core/tokens.js';
import { LiveBus } from '../live/bus.js';
import { Prometheus } from '../prometheus/prometheus.js';
import type { IngestBody } from './ingest-body.pipe.js';

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/** The keys a live event names: all of them while they are few, else none and their count (NOTIFY stays small). */
function keyList(keys: Set<string>): { keys: string[]; keyCount?: number } {
  let chars = 0;
  for (const k of keys) {
    chars += k.length + 3;
    if (chars > 2000) return { keys: [], keyCount: keys.size };
  }
  return { keys: [...keys] };
}

/**
 * The batch as columns, grouped by series in id order and each series' points in batch order: the
 * order writePoints locks in, so it rarely has to sort.
 */
function toColumns(body: IngestBody, ids: Map<string, number>, now: number) {
  const bySeries = new Map<number, { steps: number[]; values: number[]; times: number[] }>();
  const group = (id: number) => {
    let g = bySeries.get(id);
    if (!g) {
      g = { steps: [], values: [], times: [] };
      bySeries.set(id, g);
    }
    return g;
  };
  let lastStep = 0;
  for (const p of body.points ?? []) {
    const g = group(ids.get(p.key)!);
    g.steps.push(p.step);
    g.values.push(p.value);
    g.times.push(p.time ?? now);
    if (p.step > lastStep) lastStep = p.step;
  }
  for (const s of body.series ?? []) {
    const g = group(ids.get(s.key)!);
    for (let i = 0; i < s.steps.length; i++) {
      g.steps.push(s.steps[i]!);
      g.values.push(s.values[i]!);
      g.times.push(s.times?.[i] ?? now);
      if (s.steps[i]! > lastStep) lastStep = s.steps[i]!;
    }
  }
  const cols: PointColumns = { seriesIds: [], steps: [], values: [], times: [] };
  for (const id of [...bySeries.keys()].sort((a, b) => a - b)) {
    const g = bySeries.get(id)!;
    for (let i = 0; i < g.steps.length; i++) {
      cols.seriesIds.push(id);
      cols.steps.push(g.steps[i]!);
      cols.values.push(g.values[i]!);
      cols.times.push(g.times[i]!);
    }
  }
  return { cols, lastStep };
}

@Injectable()
export class IngestService {
  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly series: SeriesCache,
    private readonly limiter: PointRateLimiter,
    private readonly bus: LiveBus,
    private readonly prometheus: Prometheus,
  ) {}

  /**
   * Stores a batch. Idempotent on (run, key, step): a point already stored is kept and the new one
   * dropped. Points are counted against the run's project's rate limit; a run has at most
   * KILN_MAX_KEYS_PER_RUN keys.
   */
  async ingest(run: RunRef, body: IngestBody): Promise<{ accepted: number; inserted: number }> {
    const { points = [], series = [] } = body;
    const total = points.length + series.reduce((n, s) => n + s.steps.length, 0);
    this.limiter.take(run.projectId, total);
    this.prometheus.pointsReceived.inc(total);
    const keys = new Set<string>();
    for (const p of points) keys.add(p.key);
    for (const s of series) keys.add(s.key);
    await this.checkKeyLimit(run.id, keys);
    const ids = await this.series.ids(run.id, keys);
    // Let other requests run between the parts of a large batch (parsing and checking it was one part).
    await yieldToLoop();
    const { cols, lastStep } = toColumns(body, ids, Date.now());
    await yieldToLoop();
    const inserted = await writePoints(this.db.pool, cols);
    this.prometheus.pointsInserted.inc(inserted);
    if (inserted > 0)
      this.bus.publish({ type: 'points', runId: run.id, ...keyList(keys), lastStep, inserted });
    return { accepted: total, inserted };
  }

  /** Refuses a batch that would take the run past its key limit (checked only when it brings new keys). */
  private async checkKeyLimit(runId: string, keys: Set<string>): Promise<void> {
    const unknown = this.series.unknown(runId, keys);
    if (!unknown.length) return;
    const max = limitsOf(this.config).maxKeysPerRun;
    const { rows } = await this.db.pool.query<{ n: number; known: number }>(
      `SELECT count(*)::int8 AS n, count(*) FILTER (WHERE key = ANY($2::text[]))::int8 AS known
       FROM metric_series WHERE run_id = $1`,
      [runId, unknown],
    );
    const after = rows[0]!.n + unknown.length - rows[0]!.known;
    if (after > max)
      throw new ConflictException(
        `run would have ${after} metric keys; the limit is ${max} per run (KILN_MAX_KEYS_PER_RUN)`,
      );
  }
}

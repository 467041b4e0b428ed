// Metric ingest: a checked batch of logged values → series ids → the point store, then one live event.
import { type Db, type PointColumns, SeriesCache, writePoints } from '@kiln/db';
import { Inject, Injectable } from '@nestjs/common';
import type { RunRef } from '../core/lookup.js';
import { PointRateLimiter } from '../core/rate-limit.js';
import { DB } from '../core/tokens.js';
import { LiveBus } from '../live/bus.js';
import { Prometheus } from '../prometheus/prometheus.js';
import type { IngestBody } from './ingest-body.pipe.js';

@Injectable()
export class IngestService {
  constructor(
    @Inject(DB) private readonly db: Db,
    private readonly series: SeriesCache,
    private readonly limiter: PointRateLimiter,
    private readonly bus: LiveBus,
    private readonly prometheus: Prometheus,
  ) {}

  /**
   * Stores a batch. Idempotent on (run, key, step): a point already stored is kept and the new one
   * dropped. `rateKey` names the bucket the points are counted against.
   */
  async ingest(
    run: RunRef,
    rateKey: string,
    body: IngestBody,
  ): Promise<{ accepted: number; inserted: number }> {
    const { points = [], series = [] } = body;
    const total = points.length + series.reduce((n, s) => n + s.steps.length, 0);
    this.limiter.take(rateKey, total);
    this.prometheus.pointsReceived.inc(total);
    const keys = new Set<string>();
    for (const p of points) keys.add(p.key);
    for (const s of series) keys.add(s.key);
    const ids = await this.series.ids(run.id, keys);
    const now = Date.now();
    const cols: PointColumns = { seriesIds: [], steps: [], values: [], times: [] };
    let lastStep = 0;
    for (const p of points) {
      cols.seriesIds.push(ids.get(p.key)!);
      cols.steps.push(p.step);
      cols.values.push(p.value);
      cols.times.push(p.time ?? now);
      if (p.step > lastStep) lastStep = p.step;
    }
    for (const s of series) {
      const id = ids.get(s.key)!;
      for (let i = 0; i < s.steps.length; i++) {
        cols.seriesIds.push(id);
        cols.steps.push(s.steps[i]!);
        cols.values.push(s.values[i]!);
        cols.times.push(s.times?.[i] ?? now);
        if (s.steps[i]! > lastStep) lastStep = s.steps[i]!;
      }
    }
    const inserted = await writePoints(this.db.pool, cols);
    this.prometheus.pointsInserted.inc(inserted);
    if (inserted > 0)
      this.bus.publish({ type: 'points', runId: run.id, keys: [...keys], lastStep, inserted });
    return { accepted: total, inserted };
  }
}

// Reading logged values: a run's keys, one series downsampled on the server, one key across runs.
import { type Db, querySeries } from '@kiln/db';
import { Inject, Injectable } from '@nestjs/common';
import { DB } from '../core/tokens.js';

export interface SeriesRange {
  key: string;
  maxPoints?: number;
  fromStep?: number;
  toStep?: number;
}

@Injectable()
export class SeriesService {
  constructor(@Inject(DB) private readonly db: Db) {}

  async keys(runId: string) {
    const { rows } = await this.db.pool.query<{ key: string; count: number; last_step: number | null }>(
      `SELECT s.key, coalesce((SELECT sum(n) FROM metric_rollups r WHERE r.series_id = s.id AND r.shift = 14), 0)::int8 AS count,
              (SELECT max(step) FROM metric_points p WHERE p.series_id = s.id) AS last_step
       FROM metric_series s WHERE s.run_id = $1 ORDER BY s.key`,
      [runId],
    );
    return rows.map((r) => ({ key: r.key, count: r.count, lastStep: r.last_step }));
  }

  /** One series, downsampled to at most maxPoints points (default 1000), M4-style. */
  async series(runId: string, q: SeriesRange) {
    const { rows } = await this.db.pool.query<{ id: number }>(
      'SELECT id FROM metric_series WHERE run_id = $1 AND key = $2',
      [runId, q.key],
    );
    return this.read(rows[0]?.id, q);
  }

  /** A stored series downsampled (default 1000 points); a key logged by no one (no id) is empty. */
  private read(id: number | undefined, range: Omit<SeriesRange, 'key'>) {
    if (id === undefined) return Promise.resolve({ points: [], total: 0, downsampled: false });
    return querySeries(this.db.pool, id, {
      maxPoints: range.maxPoints ?? 1000,
      fromStep: range.fromStep,
      toStep: range.toStep,
    });
  }

  /**
   * Several series of one run in one call, in the order asked (a key logged by no one comes back empty).
   * Their reads run side by side on the pool.
   */
  async seriesMany(runId: string, keys: string[], range: Omit<SeriesRange, 'key'>) {
    const { rows } = await this.db.pool.query<{ id: number; key: string }>(
      'SELECT id, key FROM metric_series WHERE run_id = $1 AND key = ANY($2::text[])',
      [runId, keys],
    );
    const ids = new Map(rows.map((r) => [r.key, r.id]));
    return Promise.all(keys.map(async (key) => ({ key, ...(await this.read(ids.get(key), range)) })));
  }

  /** Runs of `projectId` among `runIds`; the ones missing come back by id. */
  async runsIn(projectId: string, runIds: string[]) {
    const runs = await this.db.prisma.run.findMany({ where: { id: { in: runIds }, projectId } });
    const found = new Set(runs.map((r) => r.id));
    return { runs, missing: runIds.filter((id) => !found.has(id)) };
  }

  /** The same key across several runs, each downsampled, for overlaying. */
  async compare(runIds: string[], q: SeriesRange) {
    const series = await Promise.all(
      runIds.map(async (id) => ({ runId: id, ...(await this.series(id, q)) })),
    );
    return { key: q.key, series };
  }
}

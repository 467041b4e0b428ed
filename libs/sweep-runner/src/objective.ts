// The objective as the trial's run recorded it in the tracking tables. For resource "epoch" the n-th
// recorded value is epoch n (validation metrics are logged once per epoch); for "step" it is the
// Trainer's step. The final objective is the last value recorded.
import type { Db } from '@kiln/db';

export interface ObjectivePoint {
  step: number;
  value: number;
}

export async function objectiveSeries(
  db: Db,
  runId: string,
  metric: string,
  resource: 'epoch' | 'step',
): Promise<ObjectivePoint[]> {
  const { rows } = await db.pool.query<{ step: number; value: number }>(
    `SELECT p.step, p.value FROM metric_series s JOIN metric_points p ON p.series_id = s.id
     WHERE s.run_id = $1 AND s.key = $2 ORDER BY p.step`,
    [runId, metric],
  );
  const points = rows.filter((r) => Number.isFinite(r.value));
  return resource === 'epoch' ? points.map((r, i) => ({ step: i + 1, value: r.value })) : points;
}

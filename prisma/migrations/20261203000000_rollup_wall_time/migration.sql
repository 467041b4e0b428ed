-- Rollup extremes carry their point's wall time as a third element ([step, value, ms], [value, step, ms],
-- [value, -step, ms]), so a downsampled read returns the picked points from the rollups alone. Rows written
-- before this gain it from the point each extreme names.
UPDATE metric_rollups r SET
  first = r.first || (SELECT (extract(epoch FROM p.wall_time) * 1000)::float8 FROM metric_points p
                      WHERE p.series_id = r.series_id AND p.step = r.first[1]::int8),
  last  = r.last  || (SELECT (extract(epoch FROM p.wall_time) * 1000)::float8 FROM metric_points p
                      WHERE p.series_id = r.series_id AND p.step = r.last[1]::int8),
  low   = r.low   || (SELECT (extract(epoch FROM p.wall_time) * 1000)::float8 FROM metric_points p
                      WHERE p.series_id = r.series_id AND p.step = r.low[2]::int8),
  high  = r.high  || (SELECT (extract(epoch FROM p.wall_time) * 1000)::float8 FROM metric_points p
                      WHERE p.series_id = r.series_id AND p.step = (-r.high[2])::int8)
WHERE cardinality(r.first) = 2;

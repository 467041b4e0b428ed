import { type PointColumns, querySeries, writePoints } from '@kiln/db';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  PayloadTooLargeException,
  Post,
  Query,
  Req,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { type AuthedRequest, assertProjectRead, assertRunRead, assertRunWrite } from '../auth/principal.js';
import { CompareQuery, IngestMetrics, SeriesQuery, Uuid } from '../http/schemas.js';
import { badRequest, check, type FieldError } from '../http/validation.js';
import { Services } from '../services.js';

// biome-ignore lint/suspicious/noExplicitAny: TypeBox schemas are JSON Schema; swagger's type is narrower.
const schema = (s: unknown) => ({ schema: s as any });

/** Points in a body, counted before validation so an oversized batch is refused without walking it. */
function sizeOf(body: unknown): number {
  if (!body || typeof body !== 'object') return 0;
  const { points, series } = body as { points?: unknown; series?: unknown };
  let n = Array.isArray(points) ? points.length : 0;
  if (Array.isArray(series))
    for (const s of series)
      if (s && typeof s === 'object' && Array.isArray((s as { steps?: unknown }).steps))
        n += (s as { steps: unknown[] }).steps.length;
  return n;
}

@ApiTags('metrics')
@ApiBearerAuth()
@Controller()
export class MetricsController {
  constructor(private readonly s: Services) {}

  /**
   * A batch of points. Idempotent on (run, key, step): a point already stored is kept and the new one
   * dropped, so a retried batch never duplicates. Answers how many were new.
   */
  @Post('runs/:runId/metrics')
  @HttpCode(200)
  @ApiBody(schema(IngestMetrics))
  async ingest(@Req() req: AuthedRequest, @Param('runId') runId: string, @Body() body: unknown) {
    const run = await this.s.runRef(runId);
    assertRunWrite(req.principal, run);
    const max = this.s.config.maxBatchPoints;
    const count = sizeOf(body);
    if (count > max)
      throw new PayloadTooLargeException(
        `body: at most ${max} points per request, got ${count}; split the batch`,
      );
    const { points = [], series = [] } = check(IngestMetrics, body, 'body');
    const errors: FieldError[] = [];
    for (const [i, s] of series.entries()) {
      if (s.values.length !== s.steps.length)
        errors.push({
          path: `body.series[${i}].values`,
          message: `expected ${s.steps.length} items (one per step), got ${s.values.length}`,
        });
      if (s.times && s.times.length !== s.steps.length)
        errors.push({
          path: `body.series[${i}].times`,
          message: `expected ${s.steps.length} items (one per step), got ${s.times.length}`,
        });
    }
    if (errors.length) throw badRequest(errors);
    const total = points.length + series.reduce((n, s) => n + s.steps.length, 0);
    if (total === 0) throw badRequest([{ path: 'body', message: 'expected at least one point' }]);
    this.s.limiter.take(req.principal.kind === 'admin' ? 'admin' : req.principal.tokenId, total);
    this.s.metrics.pointsReceived.inc(total);
    const keys = new Set<string>();
    for (const p of points) keys.add(p.key);
    for (const s of series) keys.add(s.key);
    const ids = await this.s.series.ids(run.id, keys);
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
    const inserted = await writePoints(this.s.db.pool, cols);
    this.s.metrics.pointsInserted.inc(inserted);
    if (inserted > 0)
      this.s.bus.publish({
        type: 'points',
        runId: run.id,
        keys: [...keys],
        lastStep,
        inserted,
      });
    return { accepted: total, inserted };
  }

  @Get('runs/:runId/metrics/keys')
  async keys(@Req() req: AuthedRequest, @Param('runId') runId: string) {
    const run = await this.s.runRef(runId);
    assertRunRead(req.principal, run);
    const { rows } = await this.s.db.pool.query<{ key: string; count: number; last_step: number | null }>(
      `SELECT s.key, coalesce((SELECT sum(n) FROM metric_rollups r WHERE r.series_id = s.id AND r.shift = 14), 0)::int8 AS count,
              (SELECT max(step) FROM metric_points p WHERE p.series_id = s.id) AS last_step
       FROM metric_series s WHERE s.run_id = $1 ORDER BY s.key`,
      [run.id],
    );
    return rows.map((r) => ({ key: r.key, count: r.count, lastStep: r.last_step }));
  }

  /** One series, downsampled on the server to at most maxPoints points (default 1000), M4-style. */
  @Get('runs/:runId/metrics/series')
  async series(@Req() req: AuthedRequest, @Param('runId') runId: string, @Query() query: unknown) {
    const run = await this.s.runRef(runId);
    assertRunRead(req.principal, run);
    const q = check(SeriesQuery, query, 'query');
    return { runId: run.id, key: q.key, ...(await this.seriesOf(run.id, q)) };
  }

  /** The same key across several runs of one project, each downsampled, for overlaying. */
  @Get('projects/:projectId/metrics/compare')
  async compare(@Req() req: AuthedRequest, @Param('projectId') projectId: string, @Query() query: unknown) {
    const project = await this.s.project(projectId);
    assertProjectRead(req.principal, project.id);
    const q = check(CompareQuery, query, 'query');
    const runIds = [...new Set(q.runIds.split(',').map((x) => x.trim()))];
    if (runIds.length > 20)
      throw badRequest([{ path: 'query.runIds', message: `at most 20 runs, got ${runIds.length}` }]);
    for (const [i, id] of runIds.entries()) check(Uuid, id, `query.runIds[${i}]`);
    const runs = await this.s.db.prisma.run.findMany({
      where: { id: { in: runIds }, projectId: project.id },
    });
    const found = new Set(runs.map((r) => r.id));
    const missing = runIds.filter((id) => !found.has(id));
    if (missing.length)
      throw badRequest([
        { path: 'query.runIds', message: `runs not in this project: ${missing.join(', ')}` },
      ]);
    for (const r of runs) assertRunRead(req.principal, r);
    const series = await Promise.all(
      runIds.map(async (id) => ({ runId: id, ...(await this.seriesOf(id, q)) })),
    );
    return { key: q.key, series };
  }

  private async seriesOf(
    runId: string,
    q: { key: string; maxPoints?: number; fromStep?: number; toStep?: number },
  ) {
    const { rows } = await this.s.db.pool.query<{ id: number }>(
      'SELECT id FROM metric_series WHERE run_id = $1 AND key = $2',
      [runId, q.key],
    );
    if (!rows[0]) return { points: [], total: 0, downsampled: false };
    return querySeries(this.s.db.pool, rows[0].id, {
      maxPoints: q.maxPoints ?? 1000,
      fromStep: q.fromStep,
      toStep: q.toStep,
    });
  }
}

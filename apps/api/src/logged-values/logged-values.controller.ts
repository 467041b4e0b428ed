// Logged values (what a training run reports per step) over HTTP: ingest and reads under /metrics.
import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Static } from '@sinclair/typebox';
import { Caller } from '../auth/caller.js';
import { assertProjectRead, assertRunRead, assertRunWrite, type Principal } from '../auth/principal.js';
import { Lookup } from '../core/lookup.js';
import { ApiAnswer, ApiJsonBody, ApiQueryOf } from '../http/openapi.js';
import { Compare, Ingested, Keys, Series, SeriesBatch } from '../http/responses.js';
import { CompareQuery, IngestMetrics, SeriesBatchQuery, SeriesQuery, Uuid } from '../http/schemas.js';
import { uuid, Validated } from '../http/validated.pipe.js';
import { badRequest, check } from '../http/validation.js';
import { IngestService } from './ingest.service.js';
import { type IngestBody, IngestBodyPipe } from './ingest-body.pipe.js';
import { SeriesService } from './series.service.js';

@ApiTags('metrics')
@ApiBearerAuth()
@Controller()
export class LoggedValuesController {
  constructor(
    private readonly lookup: Lookup,
    private readonly ingestion: IngestService,
    private readonly reads: SeriesService,
  ) {}

  /**
   * A batch of points. Idempotent on (run, key, step): a point already stored is kept and the new one
   * dropped, so a retried batch never duplicates. Answers how many were new.
   */
  @Post('runs/:runId/metrics')
  @ApiAnswer(Ingested)
  @ApiJsonBody(IngestMetrics)
  async ingest(
    @Caller() caller: Principal,
    @Param('runId', uuid('runId')) runId: string,
    @Body(IngestBodyPipe) body: IngestBody,
  ) {
    const run = await this.lookup.runRef(runId);
    assertRunWrite(caller, run);
    return this.ingestion.ingest(run, body);
  }

  @Get('runs/:runId/metrics/keys')
  @ApiAnswer(Keys)
  async keys(@Caller() caller: Principal, @Param('runId', uuid('runId')) runId: string) {
    const run = await this.lookup.runRef(runId);
    assertRunRead(caller, run);
    return this.reads.keys(run.id);
  }

  /** One series, downsampled on the server to at most maxPoints points (default 1000), M4-style. */
  @Get('runs/:runId/metrics/series')
  @ApiAnswer(Series)
  @ApiQueryOf(SeriesQuery)
  async series(
    @Caller() caller: Principal,
    @Param('runId', uuid('runId')) runId: string,
    @Query(new Validated(SeriesQuery, 'query')) q: Static<typeof SeriesQuery>,
  ) {
    const run = await this.lookup.runRef(runId);
    assertRunRead(caller, run);
    return { runId: run.id, key: q.key, ...(await this.reads.series(run.id, q)) };
  }

  /**
   * Several series of one run at once (`key=a&key=b`, up to 50), each downsampled as the single-series
   * read does: one request for a page of charts instead of one per chart. A key repeated is answered once.
   */
  @Get('runs/:runId/metrics/series/batch')
  @ApiAnswer(SeriesBatch)
  @ApiQueryOf(SeriesBatchQuery)
  async seriesBatch(
    @Caller() caller: Principal,
    @Param('runId', uuid('runId')) runId: string,
    @Query(new Validated(SeriesBatchQuery, 'query')) q: Static<typeof SeriesBatchQuery>,
  ) {
    const run = await this.lookup.runRef(runId);
    assertRunRead(caller, run);
    const { key, ...range } = q;
    return { runId: run.id, series: await this.reads.seriesMany(run.id, [...new Set(key)], range) };
  }

  /** The same key across several runs of one project, each downsampled, for overlaying. */
  @Get('projects/:projectId/metrics/compare')
  @ApiAnswer(Compare)
  @ApiQueryOf(CompareQuery)
  async compare(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Query(new Validated(CompareQuery, 'query')) q: Static<typeof CompareQuery>,
  ) {
    const project = await this.lookup.project(projectId);
    assertProjectRead(caller, project.id);
    const runIds = [...new Set(q.runIds.split(',').map((x) => x.trim()))];
    if (runIds.length > 20)
      throw badRequest([{ path: 'query.runIds', message: `at most 20 runs, got ${runIds.length}` }]);
    for (const [i, id] of runIds.entries()) check(Uuid, id, `query.runIds[${i}]`);
    const { runs, missing } = await this.reads.runsIn(project.id, runIds);
    if (missing.length)
      throw badRequest([
        { path: 'query.runIds', message: `runs not in this project: ${missing.join(', ')}` },
      ]);
    for (const r of runs) assertRunRead(caller, r);
    return this.reads.compare(runIds, q);
  }
}

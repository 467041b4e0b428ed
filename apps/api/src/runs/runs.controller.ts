import { Body, Controller, Get, Param, Patch, Post, Query, Sse } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Static } from '@sinclair/typebox';
import { map, type Observable } from 'rxjs';
import { Caller } from '../auth/caller.js';
import {
  assertProjectRead,
  assertProjectWrite,
  assertRunRead,
  assertRunWrite,
  type Principal,
} from '../auth/principal.js';
import { Lookup } from '../core/lookup.js';
import { ApiAnswer, ApiEventStream, ApiJsonBody, ApiQueryOf } from '../http/openapi.js';
import { Run, RunEvents, Runs } from '../http/responses.js';
import { CreateRun, ListRunsQuery, UpdateRun } from '../http/schemas.js';
import { uuid, Validated } from '../http/validated.pipe.js';
import { StreamAccess } from '../live/stream-access.js';
import { runJson } from './run-json.js';
import { RunsService } from './runs.service.js';

@ApiTags('runs')
@ApiBearerAuth()
@Controller()
export class RunsController {
  constructor(
    private readonly lookup: Lookup,
    private readonly runs: RunsService,
    private readonly access: StreamAccess,
  ) {}

  @Post('projects/:projectId/runs')
  @ApiAnswer(Run, 201)
  @ApiJsonBody(CreateRun)
  async create(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Body(new Validated(CreateRun)) body: Static<typeof CreateRun>,
  ) {
    const project = await this.lookup.project(projectId);
    assertProjectWrite(caller, project.id);
    return this.runs.create(project.id, body);
  }

  @Get('projects/:projectId/runs')
  @ApiAnswer(Runs)
  @ApiQueryOf(ListRunsQuery)
  async list(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Query(new Validated(ListRunsQuery, 'query')) query: Static<typeof ListRunsQuery>,
  ) {
    const project = await this.lookup.project(projectId);
    assertProjectRead(caller, project.id);
    return this.runs.list(project.id, query);
  }

  @Get('runs/:runId')
  @ApiAnswer(Run)
  async get(@Caller() caller: Principal, @Param('runId', uuid('runId')) runId: string) {
    const run = await this.lookup.run(runId);
    assertRunRead(caller, run);
    return runJson(run);
  }

  /** Status, exit reason and progress; the run's own token may report them (the PlatformLogger does). */
  @Patch('runs/:runId')
  @ApiAnswer(Run)
  @ApiJsonBody(UpdateRun)
  async update(
    @Caller() caller: Principal,
    @Param('runId', uuid('runId')) runId: string,
    @Body(new Validated(UpdateRun)) body: Static<typeof UpdateRun>,
  ) {
    const run = await this.lookup.run(runId);
    assertRunWrite(caller, run);
    return this.runs.update(run, body);
  }

  @Get('runs/:runId/events')
  @ApiAnswer(RunEvents)
  async events(@Caller() caller: Principal, @Param('runId', uuid('runId')) runId: string) {
    const run = await this.lookup.run(runId);
    assertRunRead(caller, run);
    return this.runs.events(run.id);
  }

  /** Live status, progress, new points and checkpoints of a run (server-sent events). */
  @Sse('runs/:runId/stream')
  @ApiEventStream()
  async stream(
    @Caller() caller: Principal,
    @Param('runId', uuid('runId')) runId: string,
  ): Promise<Observable<{ type: string; data: object }>> {
    const run = await this.lookup.run(runId);
    assertRunRead(caller, run);
    return this.access
      .whileValid(caller, this.runs.stream(run.id))
      .pipe(map((u) => ({ type: u.type, data: u })));
  }
}

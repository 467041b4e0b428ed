import { Body, Controller, Delete, Get, Param, Patch, Post, Query, Sse } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Static } from '@sinclair/typebox';
import type { Observable } from 'rxjs';
import { Caller } from '../auth/caller.js';
import { assertProjectRead, assertProjectWrite, type Principal } from '../auth/principal.js';
import { Lookup } from '../core/lookup.js';
import { ApiAnswer, ApiError, ApiEventStream, ApiJsonBody, ApiQueryOf } from '../http/openapi.js';
import { uuid, Validated } from '../http/validated.pipe.js';
import { badRequest } from '../http/validation.js';
import {
  CreateSweepQuery,
  ListSweepsQuery,
  PatchSweep,
  Sweep,
  SweepBody,
  Sweeps,
  Trials,
  TrialsQuery,
} from './sweep-schemas.js';
import { type SweepAction, SweepsService } from './sweeps.service.js';

@ApiTags('sweeps')
@ApiBearerAuth()
@Controller()
export class SweepsController {
  constructor(
    private readonly lookup: Lookup,
    private readonly sweeps: SweepsService,
  ) {}

  private async sweep(caller: Principal, sweepId: string, write: boolean) {
    const s = await this.sweeps.row(sweepId);
    if (write) assertProjectWrite(caller, s.project_id);
    else assertProjectRead(caller, s.project_id);
    return s;
  }

  /** A Sweep document, validated with @kiln/spec (400 naming each field); the worker runs it. */
  @Post('projects/:projectId/sweeps')
  @ApiJsonBody(SweepBody)
  @ApiQueryOf(CreateSweepQuery)
  @ApiAnswer(Sweep, 201)
  async create(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Query(new Validated(CreateSweepQuery, 'query')) query: Static<typeof CreateSweepQuery>,
    @Body() body: unknown,
  ) {
    const project = await this.lookup.project(projectId);
    assertProjectWrite(caller, project.id);
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw badRequest([{ path: 'body', message: 'expected a Sweep document (a JSON object)' }]);
    return this.sweeps.create(project, body as Record<string, unknown>, query.executor ?? 'cluster');
  }

  @Get('projects/:projectId/sweeps')
  @ApiQueryOf(ListSweepsQuery)
  @ApiAnswer(Sweeps)
  async list(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Query(new Validated(ListSweepsQuery, 'query')) query: Static<typeof ListSweepsQuery>,
  ) {
    const project = await this.lookup.project(projectId);
    assertProjectRead(caller, project.id);
    return this.sweeps.list(project.id, query);
  }

  /** The sweep with trial counts by state and its best trial. */
  @Get('sweeps/:sweepId')
  @ApiAnswer(Sweep)
  async get(@Caller() caller: Principal, @Param('sweepId', uuid('sweepId')) sweepId: string) {
    return this.sweeps.get(await this.sweep(caller, sweepId, false));
  }

  @Get('sweeps/:sweepId/trials')
  @ApiQueryOf(TrialsQuery)
  @ApiAnswer(Trials)
  async trials(
    @Caller() caller: Principal,
    @Param('sweepId', uuid('sweepId')) sweepId: string,
    @Query(new Validated(TrialsQuery, 'query')) query: Static<typeof TrialsQuery>,
  ) {
    return this.sweeps.trials(await this.sweep(caller, sweepId, false), query);
  }

  /** maxTrials and parallelism, while the sweep runs or is paused. */
  @Patch('sweeps/:sweepId')
  @ApiJsonBody(PatchSweep)
  @ApiAnswer(Sweep)
  async patch(
    @Caller() caller: Principal,
    @Param('sweepId', uuid('sweepId')) sweepId: string,
    @Body(new Validated(PatchSweep)) body: Static<typeof PatchSweep>,
  ) {
    return this.sweeps.patch(await this.sweep(caller, sweepId, true), body);
  }

  @Post('sweeps/:sweepId/pause')
  @ApiAnswer(Sweep)
  async pause(@Caller() caller: Principal, @Param('sweepId', uuid('sweepId')) sweepId: string) {
    return this.act(caller, sweepId, 'pause');
  }

  @Post('sweeps/:sweepId/resume')
  @ApiAnswer(Sweep)
  async resume(@Caller() caller: Principal, @Param('sweepId', uuid('sweepId')) sweepId: string) {
    return this.act(caller, sweepId, 'resume');
  }

  /** Stopping: the worker deletes the running trials' jobs, then marks the sweep stopped. */
  @Post('sweeps/:sweepId/stop')
  @ApiAnswer(Sweep)
  async stop(@Caller() caller: Principal, @Param('sweepId', uuid('sweepId')) sweepId: string) {
    return this.act(caller, sweepId, 'stop');
  }

  private async act(caller: Principal, sweepId: string, action: SweepAction) {
    return this.sweeps.act(await this.sweep(caller, sweepId, true), action);
  }

  @Delete('sweeps/:sweepId')
  @ApiAnswer(null, 204)
  @ApiError(409, 'the sweep is still active: stop it and delete it once it is stopped')
  async delete(@Caller() caller: Principal, @Param('sweepId', uuid('sweepId')) sweepId: string) {
    await this.sweeps.delete(await this.sweep(caller, sweepId, true));
  }

  /** Trial updates (event `trial`) and status changes (event `sweep`) as server-sent events. */
  @Sse('sweeps/:sweepId/stream')
  @ApiEventStream()
  async stream(
    @Caller() caller: Principal,
    @Param('sweepId', uuid('sweepId')) sweepId: string,
  ): Promise<Observable<{ type: string; data: object }>> {
    return this.sweeps.stream(await this.sweep(caller, sweepId, false));
  }
}

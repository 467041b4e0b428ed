import { Body, Controller, Delete, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Static } from '@sinclair/typebox';
import { Caller } from '../auth/caller.js';
import { assertProjectRead, assertProjectWrite, type Principal } from '../auth/principal.js';
import { Lookup } from '../core/lookup.js';
import { ApiAnswer, ApiJsonBody, ApiQueryOf } from '../http/openapi.js';
import { JobSubmitted, Jobs, TrainingJob } from '../http/responses.js';
import { JobListQuery, SubmitJob } from '../http/schemas.js';
import { uuid, Validated } from '../http/validated.pipe.js';
import { JobsService } from './jobs.service.js';

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('projects/:projectId/jobs')
export class JobsController {
  constructor(
    private readonly lookup: Lookup,
    private readonly jobs: JobsService,
  ) {}

  private async project(caller: Principal, projectId: string, write: boolean) {
    const project = await this.lookup.project(projectId);
    if (write) assertProjectWrite(caller, project.id);
    else assertProjectRead(caller, project.id);
    return project;
  }

  /**
   * Submits a TrainingJob into the project's namespace: validated with @kiln/spec, recorded as a run,
   * given a run-scoped tracking token in a Secret (`<name>-tracking`, key KILN_TRACKING_TOKEN).
   */
  @Post()
  @ApiAnswer(JobSubmitted, 201)
  @ApiJsonBody(SubmitJob)
  async submit(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Body(new Validated(SubmitJob)) body: Static<typeof SubmitJob>,
  ) {
    return this.jobs.submit(await this.project(caller, projectId, true), body);
  }

  @Get()
  @ApiAnswer(Jobs)
  @ApiQueryOf(JobListQuery)
  async list(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Query(new Validated(JobListQuery, 'query')) q: Static<typeof JobListQuery>,
  ) {
    return this.jobs.list((await this.project(caller, projectId, false)).namespace, q);
  }

  @Get(':name')
  @ApiAnswer(TrainingJob)
  async get(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Param('name') name: string,
  ) {
    return this.jobs.get((await this.project(caller, projectId, false)).namespace, name);
  }

  @Delete(':name')
  @ApiAnswer(null, 204)
  async cancel(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Param('name') name: string,
  ) {
    await this.jobs.cancel((await this.project(caller, projectId, true)).namespace, name);
  }

  @Post(':name/suspend')
  @ApiAnswer(TrainingJob)
  async suspend(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Param('name') name: string,
  ) {
    return this.jobs.setSuspended((await this.project(caller, projectId, true)).namespace, name, true);
  }

  @Post(':name/resume')
  @ApiAnswer(TrainingJob)
  async resume(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Param('name') name: string,
  ) {
    return this.jobs.setSuspended((await this.project(caller, projectId, true)).namespace, name, false);
  }
}

// The Kubernetes Events of a TrainingJob and of its worker pods (scheduling, image pulls, restarts, the
// operator's phase changes), newest first: what `kubectl describe tj` and `describe pod` show, for the
// dashboard's job panel.
import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Caller } from '../auth/caller.js';
import { assertProjectRead, type Principal } from '../auth/principal.js';
import { Lookup } from '../core/lookup.js';
import { ApiAnswer } from '../http/openapi.js';
import { uuid } from '../http/validated.pipe.js';
import { JobEvents } from './job-event-json.js';
import { JobsService } from './jobs.service.js';

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('projects/:projectId/jobs')
export class JobEventsController {
  constructor(
    private readonly lookup: Lookup,
    private readonly jobs: JobsService,
  ) {}

  @Get(':name/events')
  @ApiAnswer(JobEvents)
  async events(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Param('name') name: string,
  ) {
    const project = await this.lookup.project(projectId);
    assertProjectRead(caller, project.id);
    return this.jobs.events(project.namespace, name);
  }
}

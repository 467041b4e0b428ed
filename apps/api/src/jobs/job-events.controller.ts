// The Kubernetes Events of a TrainingJob and of its worker pods (scheduling, image pulls, restarts, the
// operator's phase changes), newest first: what `kubectl describe tj` and `describe pod` show, for the
// dashboard's job panel.
import { WORKER_INFIX } from '@kiln/spec';
import type { CoreV1Event } from '@kubernetes/client-node';
import {
  Controller,
  Get,
  Inject,
  NotFoundException,
  Param,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Type } from '@sinclair/typebox';
import { Caller } from '../auth/caller.js';
import { assertProjectRead, type Principal } from '../auth/principal.js';
import { Lookup } from '../core/lookup.js';
import { JOB_BACKEND } from '../core/tokens.js';
import { ApiAnswer } from '../http/openapi.js';
import { uuid } from '../http/validated.pipe.js';
import type { JobBackend } from './backend.js';

const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const JobEvent = Type.Object({
  id: Type.String({ description: "the Event object's uid" }),
  type: Type.String({ description: 'Normal or Warning' }),
  reason: Type.String(),
  message: Type.String(),
  object: Type.Object({ kind: Type.String(), name: Type.String() }),
  count: Type.Integer({ description: 'how many times it happened' }),
  firstTime: Time,
  lastTime: Time,
  source: Type.String({ description: 'the component that reported it' }),
});
export const JobEvents = Type.Object({ items: Type.Array(JobEvent) });

const iso = (t: Date | string | undefined | null) => (t ? new Date(t).toISOString() : null);

export function jobEventJson(e: CoreV1Event) {
  const last = e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
  return {
    id: e.metadata.uid ?? `${e.metadata.namespace}/${e.metadata.name}`,
    type: e.type ?? 'Normal',
    reason: e.reason ?? '',
    message: e.message ?? '',
    object: { kind: e.involvedObject.kind ?? '', name: e.involvedObject.name ?? '' },
    count: e.count ?? e.series?.count ?? 1,
    firstTime: iso(e.firstTimestamp ?? e.eventTime ?? last),
    lastTime: iso(last),
    source: e.reportingComponent || e.source?.component || '',
  };
}

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('projects/:projectId/jobs')
export class JobEventsController {
  constructor(
    private readonly lookup: Lookup,
    @Inject(JOB_BACKEND) private readonly jobs: JobBackend | null,
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
    if (!this.jobs)
      throw new ServiceUnavailableException(
        'no Kubernetes cluster is configured for job endpoints (KILN_KUBECONFIG)',
      );
    // The job must exist (so `name` is a valid object name before it goes into a field selector).
    const job = await this.jobs.get(project.namespace, name);
    if (!job) throw new NotFoundException(`TrainingJob ${name} not found`);
    const worker = new RegExp(`^${name}${WORKER_INFIX}\\d+$`);
    const [own, pods] = await Promise.all([
      this.jobs.events(project.namespace, job.kind, name),
      this.jobs.events(project.namespace, 'Pod', (n) => worker.test(n)),
    ]);
    const items = [...own, ...pods].map(jobEventJson);
    items.sort((a, b) => (b.lastTime ?? '').localeCompare(a.lastTime ?? ''));
    return { items };
  }
}

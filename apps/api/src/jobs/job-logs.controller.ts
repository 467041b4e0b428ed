// A TrainingJob worker's log, read from Kubernetes (the kubelet's container log, as `kubectl logs`
// shows it): what `kiln logs <job> [-f] [--worker i]` prints. Plain text, streamed; with follow=true the
// response stays open until the pod ends or the client goes away.

import { PassThrough } from 'node:stream';
import { workerName } from '@kiln/spec';
import {
  Controller,
  Get,
  Inject,
  NotFoundException,
  Param,
  Query,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiBearerAuth, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { Caller } from '../auth/caller.js';
import { assertProjectRead, type Principal } from '../auth/principal.js';
import { Lookup } from '../core/lookup.js';
import { JOB_BACKEND } from '../core/tokens.js';
import { ApiQueryOf } from '../http/openapi.js';
import { uuid, Validated } from '../http/validated.pipe.js';
import { badRequest } from '../http/validation.js';
import type { JobBackend } from './backend.js';

export const JobLogsQuery = Type.Object({
  worker: Type.Optional(Type.Integer({ minimum: 0, maximum: 4095, description: 'worker index (default 0)' })),
  follow: Type.Optional(Type.Boolean({ description: 'keep streaming until the pod ends' })),
  tailLines: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 100_000, description: 'only the newest lines' }),
  ),
});

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('projects/:projectId/jobs')
export class JobLogsController {
  constructor(
    private readonly lookup: Lookup,
    @Inject(JOB_BACKEND) private readonly jobs: JobBackend | null,
  ) {}

  @Get(':name/logs')
  @ApiQueryOf(JobLogsQuery)
  @ApiProduces('text/plain')
  @ApiResponse({ status: 200, content: { 'text/plain': { schema: { type: 'string' } } } })
  async logs(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Param('name') name: string,
    @Query(new Validated(JobLogsQuery, 'query')) q: Static<typeof JobLogsQuery>,
    @Res() reply: FastifyReply,
  ) {
    const project = await this.lookup.project(projectId);
    assertProjectRead(caller, project.id);
    if (!this.jobs)
      throw new ServiceUnavailableException(
        'no Kubernetes cluster is configured for job endpoints (KILN_KUBECONFIG)',
      );
    const job = await this.jobs.get(project.namespace, name);
    if (!job) throw new NotFoundException(`TrainingJob ${name} not found`);
    const worker = q.worker ?? 0;
    const workers = Number((job.spec as { workers?: number }).workers ?? 1);
    if (worker >= workers)
      throw badRequest([
        { path: 'query.worker', message: `must be below the job's ${workers} workers (got ${worker})` },
      ]);
    const out = new PassThrough();
    const abort = await this.jobs.podLog(project.namespace, workerName(name, worker), out, {
      follow: q.follow ?? false,
      ...(q.tailLines !== undefined && { tailLines: q.tailLines }),
    });
    if (!abort) {
      const phase = (job.status as { phase?: string } | undefined)?.phase ?? 'Pending';
      throw new NotFoundException(
        `worker ${worker} of TrainingJob ${name} has no pod now (job phase ${phase})`,
      );
    }
    reply.raw.on('close', () => abort.abort());
    return reply.header('content-type', 'text/plain; charset=utf-8').send(out);
  }
}

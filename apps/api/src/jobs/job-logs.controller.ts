// A TrainingJob worker's log, read from Kubernetes (the kubelet's container log, as `kubectl logs`
// shows it): what `kiln logs <job> [-f] [--worker i]` prints. Plain text, streamed; with follow=true the
// response stays open until the pod ends or the client goes away.

import { PassThrough } from 'node:stream';
import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { Caller } from '../auth/caller.js';
import { assertProjectRead, type Principal } from '../auth/principal.js';
import { Lookup } from '../core/lookup.js';
import { ApiQueryOf } from '../http/openapi.js';
import { uuid, Validated } from '../http/validated.pipe.js';
import { JobsService } from './jobs.service.js';

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
    private readonly jobs: JobsService,
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
    const out = new PassThrough();
    const abort = await this.jobs.workerLog(project.namespace, name, q.worker ?? 0, out, {
      follow: q.follow ?? false,
      ...(q.tailLines !== undefined && { tailLines: q.tailLines }),
    });
    reply.raw.on('close', () => abort.abort());
    return reply.header('content-type', 'text/plain; charset=utf-8').send(out);
  }
}

import { API_GROUP_VERSION, LABELS, TRAININGJOB_KIND, validateTrainingJob } from '@kiln/spec';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { type AuthedRequest, assertProjectRead, assertProjectWrite } from '../auth/principal.js';
import { JobListQuery } from '../http/schemas.js';
import { badRequest, check } from '../http/validation.js';
import type { JobBackend, TrainingJobObject } from '../jobs/backend.js';
import { Services } from '../services.js';

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('projects/:projectId/jobs')
export class JobsController {
  constructor(private readonly s: Services) {}

  private backend(): JobBackend {
    if (!this.s.jobs)
      throw new ServiceUnavailableException(
        'no Kubernetes cluster is configured for job endpoints (KILN_KUBECONFIG)',
      );
    return this.s.jobs;
  }

  /**
   * Submits a TrainingJob into the project's namespace: validated with @kiln/spec, recorded as a run,
   * given a run-scoped tracking token in a Secret (`<name>-tracking`, key KILN_TRACKING_TOKEN).
   */
  @Post()
  async submit(@Req() req: AuthedRequest, @Param('projectId') projectId: string, @Body() body: unknown) {
    const project = await this.s.project(projectId);
    assertProjectWrite(req.principal, project.id);
    const input = { apiVersion: API_GROUP_VERSION, kind: TRAININGJOB_KIND, ...(body as object) } as Record<
      string,
      unknown
    >;
    const meta = (input.metadata ?? {}) as { namespace?: string };
    if (meta.namespace && meta.namespace !== project.namespace)
      throw badRequest([
        {
          path: 'body.metadata.namespace',
          message: `must be the project's namespace ${project.namespace} (or left out)`,
        },
      ]);
    input.metadata = { ...meta, namespace: project.namespace };
    const v = validateTrainingJob(input);
    if (!v.ok)
      throw badRequest(
        v.errors.map((e) => ({
          path: `body${e.path.startsWith('[') ? '' : '.'}${e.path}`,
          message: e.message,
        })),
      );
    const jobs = this.backend();
    const job = v.value as unknown as TrainingJobObject;
    const spec = job.spec as { hyperparameters?: Record<string, unknown>; tracking?: { runName?: string } };
    const run = await this.s.db.prisma.run.create({
      data: {
        projectId: project.id,
        name: spec.tracking?.runName ?? job.metadata.name,
        jobNamespace: project.namespace,
        jobName: job.metadata.name,
        hyperparams: (spec.hyperparameters ?? {}) as object,
      },
    });
    try {
      const t = await this.s.tokens.issue({
        projectId: project.id,
        name: `job ${job.metadata.name}`,
        scope: 'run',
        runId: run.id,
      });
      await jobs.putSecret(project.namespace, `${job.metadata.name}-tracking`, {
        KILN_TRACKING_TOKEN: t.token,
        KILN_RUN_ID: run.id,
      });
      job.metadata.labels = { ...job.metadata.labels, [LABELS.runId]: run.id };
      const created = await jobs.create(project.namespace, job);
      await this.s.db.prisma.run.update({
        where: { id: run.id },
        data: { jobUid: created.metadata.uid ?? null },
      });
      return { runId: run.id, job: created };
    } catch (e) {
      await this.s.db.prisma.run.delete({ where: { id: run.id } });
      const code = (e as { code?: number }).code;
      if (code === 409)
        throw badRequest([
          { path: 'body.metadata.name', message: `a TrainingJob named ${job.metadata.name} already exists` },
        ]);
      if (code === 422 || code === 400)
        throw badRequest([{ path: 'body', message: `rejected by the cluster: ${(e as Error).message}` }]);
      throw e;
    }
  }

  @Get()
  async list(@Req() req: AuthedRequest, @Param('projectId') projectId: string, @Query() query: unknown) {
    const project = await this.s.project(projectId);
    assertProjectRead(req.principal, project.id);
    const q = check(JobListQuery, query, 'query');
    let items = await this.backend().list(project.namespace);
    if (q.phase) items = items.filter((j) => (j.status as { phase?: string } | undefined)?.phase === q.phase);
    const sort = q.sort ?? '-createdAt';
    const key = (j: TrainingJobObject) =>
      sort.endsWith('name') ? j.metadata.name : (j.metadata.creationTimestamp ?? '');
    items.sort((a, b) => key(a).localeCompare(key(b)) * (sort.startsWith('-') ? -1 : 1));
    const offset = q.offset ?? 0;
    return { items: items.slice(offset, offset + (q.limit ?? 50)), total: items.length };
  }

  @Get(':name')
  async get(@Req() req: AuthedRequest, @Param('projectId') projectId: string, @Param('name') name: string) {
    const project = await this.s.project(projectId);
    assertProjectRead(req.principal, project.id);
    const job = await this.backend().get(project.namespace, name);
    if (!job) throw new NotFoundException(`TrainingJob ${name} not found`);
    return job;
  }

  @Delete(':name')
  @HttpCode(204)
  async cancel(
    @Req() req: AuthedRequest,
    @Param('projectId') projectId: string,
    @Param('name') name: string,
  ) {
    const project = await this.s.project(projectId);
    assertProjectWrite(req.principal, project.id);
    if (!(await this.backend().delete(project.namespace, name)))
      throw new NotFoundException(`TrainingJob ${name} not found`);
  }

  @Post(':name/suspend')
  @HttpCode(200)
  async suspend(
    @Req() req: AuthedRequest,
    @Param('projectId') projectId: string,
    @Param('name') name: string,
  ) {
    return this.setSuspended(req, projectId, name, true);
  }

  @Post(':name/resume')
  @HttpCode(200)
  async resume(
    @Req() req: AuthedRequest,
    @Param('projectId') projectId: string,
    @Param('name') name: string,
  ) {
    return this.setSuspended(req, projectId, name, false);
  }

  private async setSuspended(req: AuthedRequest, projectId: string, name: string, suspend: boolean) {
    const project = await this.s.project(projectId);
    assertProjectWrite(req.principal, project.id);
    const job = await this.backend().setSuspended(project.namespace, name, suspend);
    if (!job) throw new NotFoundException(`TrainingJob ${name} not found`);
    return job;
  }
}

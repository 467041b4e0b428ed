import { Body, Controller, Get, Param, Patch, Post, Query, Req, Sse } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { map, type Observable } from 'rxjs';
import {
  type AuthedRequest,
  assertProjectRead,
  assertProjectWrite,
  assertRunRead,
  assertRunWrite,
} from '../auth/principal.js';
import { CreateRun, ListRunsQuery, UpdateRun } from '../http/schemas.js';
import { check } from '../http/validation.js';
import { runJson, Services } from '../services.js';

// biome-ignore lint/suspicious/noExplicitAny: TypeBox schemas are JSON Schema; swagger's type is narrower.
const schema = (s: unknown) => ({ schema: s as any });
const terminal = new Set(['succeeded', 'failed', 'cancelled']);

@ApiTags('runs')
@ApiBearerAuth()
@Controller()
export class RunsController {
  constructor(private readonly s: Services) {}

  @Post('projects/:projectId/runs')
  @ApiBody(schema(CreateRun))
  async create(@Req() req: AuthedRequest, @Param('projectId') projectId: string, @Body() body: unknown) {
    const project = await this.s.project(projectId);
    assertProjectWrite(req.principal, project.id);
    const { issueToken, hyperparams, ...b } = check(CreateRun, body, 'body');
    const run = await this.s.db.prisma.run.create({
      data: {
        ...b,
        hyperparams: (hyperparams ?? {}) as object,
        projectId: project.id,
        startedAt: b.status === 'running' ? new Date() : null,
      },
    });
    await this.s.db.prisma.runEvent.create({
      data: { runId: run.id, type: 'created', message: `run ${run.name} created` },
    });
    if (!issueToken) return runJson(run);
    const t = await this.s.tokens.issue({
      projectId: project.id,
      name: `run ${run.id}`,
      scope: 'run',
      runId: run.id,
    });
    return { ...runJson(run), token: t.token };
  }

  @Get('projects/:projectId/runs')
  async list(@Req() req: AuthedRequest, @Param('projectId') projectId: string, @Query() query: unknown) {
    const project = await this.s.project(projectId);
    assertProjectRead(req.principal, project.id);
    const q = check(ListRunsQuery, query, 'query');
    const sort = q.sort ?? '-createdAt';
    const field = sort.replace('-', '') as 'createdAt' | 'name';
    const where = {
      projectId: project.id,
      ...(q.status && { status: q.status }),
      ...(q.sweepId && { sweepId: q.sweepId }),
      ...(q.name && { name: { contains: q.name } }),
    };
    const [items, total] = await Promise.all([
      this.s.db.prisma.run.findMany({
        where,
        orderBy: [{ [field]: sort.startsWith('-') ? 'desc' : 'asc' }, { id: 'asc' }],
        take: q.limit ?? 50,
        skip: q.offset ?? 0,
      }),
      this.s.db.prisma.run.count({ where }),
    ]);
    return { items: items.map(runJson), total };
  }

  @Get('runs/:runId')
  async get(@Req() req: AuthedRequest, @Param('runId') runId: string) {
    const run = await this.s.run(runId);
    assertRunRead(req.principal, run);
    return runJson(run);
  }

  /** Status, exit reason and progress; the run's own token may report them (the PlatformLogger does). */
  @Patch('runs/:runId')
  @ApiBody(schema(UpdateRun))
  async update(@Req() req: AuthedRequest, @Param('runId') runId: string, @Body() body: unknown) {
    const run = await this.s.run(runId);
    assertRunWrite(req.principal, run);
    const b = check(UpdateRun, body, 'body');
    const now = new Date();
    const updated = await this.s.db.prisma.run.update({
      where: { id: run.id },
      data: {
        ...(b.status && { status: b.status }),
        ...(b.status === 'running' && !run.startedAt && { startedAt: now }),
        ...(b.status && terminal.has(b.status) && { finishedAt: now }),
        ...(b.exitReason !== undefined && { exitReason: b.exitReason }),
        ...(b.hyperparams && { hyperparams: b.hyperparams as object }),
        ...(b.progress && {
          step: b.progress.step,
          ...(b.progress.totalSteps !== undefined && { totalSteps: b.progress.totalSteps }),
          ...(b.progress.epoch !== undefined && { epoch: b.progress.epoch }),
          ...(b.progress.etaSeconds !== undefined && { etaSeconds: b.progress.etaSeconds }),
          ...(b.progress.metrics && { lastMetrics: b.progress.metrics }),
        }),
      },
    });
    if (b.status && b.status !== run.status) {
      await this.s.db.prisma.runEvent.create({
        data: {
          runId: run.id,
          type: 'status',
          message: `${run.status} → ${b.status}`,
          data: { from: run.status, to: b.status },
        },
      });
      this.s.bus.publish({ type: 'status', runId: run.id, status: b.status, exitReason: updated.exitReason });
    }
    if (b.progress)
      this.s.bus.publish({
        type: 'progress',
        runId: run.id,
        step: b.progress.step,
        totalSteps: updated.totalSteps === null ? null : Number(updated.totalSteps),
        etaSeconds: updated.etaSeconds,
      });
    return runJson(updated);
  }

  @Get('runs/:runId/events')
  async events(@Req() req: AuthedRequest, @Param('runId') runId: string) {
    const run = await this.s.run(runId);
    assertRunRead(req.principal, run);
    const rows = await this.s.db.prisma.runEvent.findMany({
      where: { runId: run.id },
      orderBy: { id: 'asc' },
      take: 1000,
    });
    return rows.map((e) => ({ ...e, id: Number(e.id) }));
  }

  /** Live status, progress, new points and checkpoints of a run (server-sent events). */
  @Sse('runs/:runId/stream')
  async stream(
    @Req() req: AuthedRequest,
    @Param('runId') runId: string,
  ): Promise<Observable<{ type: string; data: object }>> {
    const run = await this.s.run(runId);
    assertRunRead(req.principal, run);
    return this.s.bus
      .run(run.id, ['status', 'progress', 'points', 'checkpoint'])
      .pipe(map((u) => ({ type: u.type, data: u })));
  }
}

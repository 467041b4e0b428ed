// Runs: create (optionally with a run token), list, update status/progress/hyperparameters, events.
import type { Db, Run } from '@kiln/db';
import { Inject, Injectable } from '@nestjs/common';
import type { Static } from '@sinclair/typebox';
import { TokenStore } from '../auth/tokens.js';
import { type ApiConfig, limitsOf } from '../config.js';
import { API_CONFIG, DB } from '../core/tokens.js';

import type { CreateRun, ListRunsQuery, UpdateRun } from '../http/schemas.js';
import { LiveBus } from '../live/bus.js';
import { checkHyperparams } from './hyperparams.js';
import { runJson } from './run-json.js';

const terminal = new Set(['succeeded', 'failed', 'cancelled']);

@Injectable()
export class RunsService {
  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly tokens: TokenStore,
    private readonly bus: LiveBus,
  ) {}

  async create(projectId: string, body: Static<typeof CreateRun>) {
    const { issueToken, hyperparams, ...b } = body;
    this.checkHyperparams(hyperparams);
    const run = await this.db.prisma.run.create({
      data: {
        ...b,
        hyperparams: (hyperparams ?? {}) as object,
        projectId,
        startedAt: b.status === 'running' ? new Date() : null,
      },
    });
    await this.db.prisma.runEvent.create({
      data: { runId: run.id, type: 'created', message: `run ${run.name} created` },
    });
    if (!issueToken) return runJson(run);
    const t = await this.tokens.issue({ projectId, name: `run ${run.id}`, scope: 'run', runId: run.id });
    return { ...runJson(run), token: t.token };
  }

  async list(projectId: string, q: Static<typeof ListRunsQuery>) {
    const sort = q.sort ?? '-createdAt';
    const field = sort.replace('-', '') as 'createdAt' | 'name';
    const where = {
      projectId,
      ...(q.status && { status: q.status }),
      ...(q.sweepId && { sweepId: q.sweepId }),
      ...(q.name && { name: { contains: q.name } }),
    };
    const [items, total] = await Promise.all([
      this.db.prisma.run.findMany({
        where,
        orderBy: [{ [field]: sort.startsWith('-') ? 'desc' : 'asc' }, { id: 'asc' }],
        take: q.limit ?? 50,
        skip: q.offset ?? 0,
      }),
      this.db.prisma.run.count({ where }),
    ]);
    return { items: items.map(runJson), total };
  }

  /** Status, exit reason, hyperparameters and progress; a status change is recorded and published. */
  async update(run: Run, b: Static<typeof UpdateRun>) {
    this.checkHyperparams(b.hyperparams);
    const now = new Date();
    const updated = await this.db.prisma.run.update({
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
      await this.db.prisma.runEvent.create({
        data: {
          runId: run.id,
          type: 'status',
          message: `${run.status} → ${b.status}`,
          data: { from: run.status, to: b.status },
        },
      });
      this.bus.publish({ type: 'status', runId: run.id, status: b.status, exitReason: updated.exitReason });
    }
    if (b.progress)
      this.bus.publish({
        type: 'progress',
        runId: run.id,
        step: b.progress.step,
        totalSteps: updated.totalSteps === null ? null : Number(updated.totalSteps),
        etaSeconds: updated.etaSeconds,
      });
    return runJson(updated);
  }

  private checkHyperparams(h: unknown): void {
    checkHyperparams(h, limitsOf(this.config).maxHyperparamBytes, 'body.hyperparams');
  }

  async events(runId: string) {
    const rows = await this.db.prisma.runEvent.findMany({
      where: { runId },
      orderBy: { id: 'asc' },
      take: 1000,
    });
    return rows.map((e) => ({ ...e, id: Number(e.id) }));
  }

  /** Live status, progress, new points and checkpoints of a run. */
  stream(runId: string) {
    return this.bus.run(runId, ['status', 'progress', 'points', 'checkpoint']);
  }
}

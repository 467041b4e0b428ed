// The API's shared parts, built once per app and handed to every controller.

import type { Checkpoint, Run } from '@kiln/db';
import { type Db, SeriesCache } from '@kiln/db';
import { NotFoundException } from '@nestjs/common';
import type { TokenStore } from './auth/tokens.js';
import type { ApiConfig } from './config.js';
import type { ApiMetrics } from './http/prom.js';
import type { PointRateLimiter } from './http/rate-limit.js';
import { Uuid } from './http/schemas.js';
import { check } from './http/validation.js';
import type { JobBackend } from './jobs/backend.js';
import type { LiveBus } from './live/bus.js';

export class Services {
  readonly series: SeriesCache;
  constructor(
    readonly config: ApiConfig,
    readonly db: Db,
    readonly tokens: TokenStore,
    readonly bus: LiveBus,
    readonly limiter: PointRateLimiter,
    readonly metrics: ApiMetrics,
    readonly jobs: JobBackend | null,
  ) {
    this.series = new SeriesCache(db.pool);
  }

  /** The run, or 404; a malformed id is a 400 naming the parameter. */
  async run(runId: string): Promise<Run> {
    check(Uuid, runId, 'params.runId');
    const run = await this.db.prisma.run.findUnique({ where: { id: runId } });
    if (!run) throw new NotFoundException(`run ${runId} not found`);
    return run;
  }

  private readonly refs = new Map<string, { id: string; projectId: string }>();

  /**
   * A run's id and project, for the hot paths (ingest, series): one indexed query on first use, then
   * from memory (a run never changes project). Missing runs are not cached.
   */
  async runRef(runId: string): Promise<{ id: string; projectId: string }> {
    const hit = this.refs.get(runId);
    if (hit) return hit;
    check(Uuid, runId, 'params.runId');
    const { rows } = await this.db.pool.query<{ id: string; project_id: string }>(
      'SELECT id, project_id FROM runs WHERE id = $1',
      [runId],
    );
    if (!rows[0]) throw new NotFoundException(`run ${runId} not found`);
    const ref = { id: rows[0].id, projectId: rows[0].project_id };
    if (this.refs.size > 100_000) this.refs.clear();
    this.refs.set(runId, ref);
    return ref;
  }

  async project(projectId: string) {
    check(Uuid, projectId, 'params.projectId');
    const p = await this.db.prisma.project.findUnique({ where: { id: projectId } });
    if (!p) throw new NotFoundException(`project ${projectId} not found`);
    return p;
  }
}

const num = (v: bigint | number | null) => (v === null ? null : Number(v));

export function runJson(r: Run) {
  return {
    id: r.id,
    projectId: r.projectId,
    name: r.name,
    status: r.status,
    exitReason: r.exitReason,
    hyperparams: r.hyperparams,
    job: r.jobName ? { namespace: r.jobNamespace, name: r.jobName, uid: r.jobUid } : null,
    sweepId: r.sweepId,
    trialId: r.trialId,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    progress: {
      step: num(r.step),
      totalSteps: num(r.totalSteps),
      epoch: r.epoch,
      etaSeconds: r.etaSeconds,
      percent:
        r.step !== null && r.totalSteps ? Math.min(100, (Number(r.step) / Number(r.totalSteps)) * 100) : null,
      metrics: r.lastMetrics,
    },
  };
}

export function checkpointJson(c: Checkpoint) {
  return {
    id: c.id,
    runId: c.runId,
    step: Number(c.step),
    epoch: c.epoch,
    path: c.path,
    sizeBytes: Number(c.sizeBytes),
    sha256: c.sha256,
    metrics: c.metrics,
    isBest: c.isBest,
    isLast: c.isLast,
    createdAt: c.createdAt,
  };
}

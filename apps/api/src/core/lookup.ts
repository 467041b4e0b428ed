// Finding the run or project a request names, or 404. Every domain module needs these before it can
// check the caller's access, so they live here once.
import type { Db, Run } from '@kiln/db';
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { DB } from './tokens.js';

export interface RunRef {
  id: string;
  projectId: string;
}

@Injectable()
export class Lookup {
  private readonly refs = new Map<string, RunRef>();

  constructor(@Inject(DB) private readonly db: Db) {}

  /** The run, or 404. */
  async run(runId: string): Promise<Run> {
    const run = await this.db.prisma.run.findUnique({ where: { id: runId } });
    if (!run) throw new NotFoundException(`run ${runId} not found`);
    return run;
  }

  /**
   * A run's id and project, for the hot paths (ingest, series): one indexed query on first use, then
   * from memory (a run never changes project). Missing runs are not cached.
   */
  async runRef(runId: string): Promise<RunRef> {
    const hit = this.refs.get(runId);
    if (hit) return hit;
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
    const p = await this.db.prisma.project.findUnique({ where: { id: projectId } });
    if (!p) throw new NotFoundException(`project ${projectId} not found`);
    return p;
  }
}

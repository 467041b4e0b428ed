// Sweeps of a project. The API only records and enqueues: it validates the document, writes the rows,
// changes status or limits, and sends "sweep changed"; the sweep worker starts and stops trials.
import type { Db, Project } from '@kiln/db';
import { API_GROUP_VERSION, SWEEP_KIND, validateSweep } from '@kiln/spec';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { Static } from '@sinclair/typebox';
import { exhaustMap, from, mergeMap, type Observable, timer } from 'rxjs';
import { DB } from '../core/tokens.js';
import { badRequest } from '../http/validation.js';
import type { SweepEvents } from './sweep-events.js';
import { type SweepRowDb, sweepJson, type TrialRowDb, trialJson } from './sweep-json.js';
import type { ListSweepsQuery, PatchSweep, TrialsQuery } from './sweep-schemas.js';
import { SWEEP_EVENTS, SWEEPS_CONFIG, type SweepsConfig } from './sweeps.config.js';

const ACTIVE = ['running', 'paused', 'stopping'];
/** status change → the statuses it may start from */
const TRANSITIONS = {
  pause: { from: ['running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  stop: { from: ['running', 'paused'], to: 'stopping' },
} as const;
export type SweepAction = keyof typeof TRANSITIONS;

const STREAM_POLL_MS = 1000;

@Injectable()
export class SweepsService {
  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(SWEEP_EVENTS) private readonly events: SweepEvents,
    @Inject(SWEEPS_CONFIG) private readonly config: SweepsConfig,
  ) {}

  /** The sweep, or 404 (also for another project's, which the caller then may not see). */
  async row(sweepId: string): Promise<SweepRowDb> {
    const { rows } = await this.db.pool.query<SweepRowDb>('SELECT * FROM sweeps WHERE id = $1', [sweepId]);
    if (!rows[0]) throw new NotFoundException(`sweep ${sweepId} not found`);
    return rows[0];
  }

  async create(project: Project, body: Record<string, unknown>, executor: 'cluster' | 'local') {
    const meta = (body.metadata ?? {}) as { namespace?: unknown };
    if (meta.namespace !== undefined && meta.namespace !== project.namespace)
      throw badRequest([
        {
          path: 'body.metadata.namespace',
          message: `must be the project's namespace ${project.namespace} (or left out)`,
        },
      ]);
    const v = validateSweep({ apiVersion: API_GROUP_VERSION, kind: SWEEP_KIND, ...body });
    if (!v.ok)
      throw badRequest(
        v.errors.map((e) => ({
          path: `body${e.path.startsWith('[') ? '' : '.'}${e.path}`,
          message: e.message,
        })),
      );
    const doc = v.value;
    doc.metadata.namespace = project.namespace;
    let rows: SweepRowDb[];
    try {
      ({ rows } = await this.db.pool.query<SweepRowDb>(
        `INSERT INTO sweeps (project_id, name, namespace, spec, executor, max_trials, parallelism)
         SELECT $1, $2, $3, $4, $5, $6, $7
         WHERE (SELECT count(*) FROM sweeps WHERE project_id = $1 AND status = ANY($8::sweep_status[])) < $9
         RETURNING *`,
        [
          project.id,
          doc.metadata.name,
          project.namespace,
          JSON.stringify(doc),
          executor,
          doc.spec.maxTrials ?? null,
          doc.spec.parallelism,
          ACTIVE,
          this.config.maxActiveSweepsPerProject,
        ],
      ));
    } catch (e) {
      if ((e as { code?: string }).code === '23505')
        throw new ConflictException(`a sweep named ${doc.metadata.name} already exists in this project`);
      throw e;
    }
    if (!rows[0])
      throw new ConflictException(
        `the project already has ${this.config.maxActiveSweepsPerProject} active sweeps (the limit); stop or finish one first`,
      );
    await this.events.changed(rows[0].id);
    return sweepJson(rows[0]);
  }

  async list(projectId: string, q: Static<typeof ListSweepsQuery>) {
    const where = q.status ? 'project_id = $1 AND status = $2' : 'project_id = $1 AND $2::text IS NULL';
    const args = [projectId, q.status ?? null];
    const [items, total] = await Promise.all([
      this.db.pool.query<SweepRowDb>(
        `SELECT * FROM sweeps WHERE ${where} ORDER BY created_at DESC, id LIMIT $3 OFFSET $4`,
        [...args, q.limit ?? 50, q.offset ?? 0],
      ),
      this.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM sweeps WHERE ${where}`, args),
    ]);
    const ids = items.rows.map((s) => s.id);
    const counts = await this.counts(ids);
    const bests = await Promise.all(items.rows.map((s) => this.best(s)));
    return {
      items: items.rows.map((s, i) => sweepJson(s, counts.get(s.id), bests[i])),
      total: total.rows[0]!.n,
    };
  }

  async get(s: SweepRowDb) {
    const counts = await this.counts([s.id]);
    return sweepJson(s, counts.get(s.id), await this.best(s));
  }

  private async counts(ids: string[]): Promise<Map<string, Record<string, number>>> {
    const out = new Map<string, Record<string, number>>();
    if (!ids.length) return out;
    const { rows } = await this.db.pool.query<{ sweep_id: string; state: string; n: number }>(
      `SELECT sweep_id, state, count(*)::int AS n FROM trials WHERE sweep_id = ANY($1::uuid[])
       GROUP BY sweep_id, state`,
      [ids],
    );
    for (const r of rows) out.set(r.sweep_id, { ...out.get(r.sweep_id), [r.state]: r.n });
    return out;
  }

  private async best(s: SweepRowDb): Promise<TrialRowDb | null> {
    const dir = s.spec.spec.objective.goal === 'maximize' ? 'DESC' : 'ASC';
    const { rows } = await this.db.pool.query<TrialRowDb>(
      `SELECT * FROM trials WHERE sweep_id = $1 AND state = 'complete' AND value IS NOT NULL
       ORDER BY value ${dir}, number LIMIT 1`,
      [s.id],
    );
    return rows[0] ?? null;
  }

  async trials(s: SweepRowDb, q: Static<typeof TrialsQuery>) {
    const goalDir = s.spec.spec.objective.goal === 'maximize' ? 'DESC' : 'ASC';
    const order = {
      number: 'number ASC',
      '-number': 'number DESC',
      value: 'value ASC NULLS LAST, number',
      '-value': 'value DESC NULLS LAST, number',
      best: `value ${goalDir} NULLS LAST, number`,
    }[q.sort ?? 'number'];
    const where = q.state ? 'sweep_id = $1 AND state = $2' : 'sweep_id = $1 AND $2::text IS NULL';
    const args = [s.id, q.state ?? null];
    const [items, total] = await Promise.all([
      this.db.pool.query<TrialRowDb>(
        `SELECT * FROM trials WHERE ${where} ORDER BY ${order} LIMIT $3 OFFSET $4`,
        [...args, q.limit ?? 100, q.offset ?? 0],
      ),
      this.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM trials WHERE ${where}`, args),
    ]);
    return { items: items.rows.map(trialJson), total: total.rows[0]!.n };
  }

  /** New limits; maxTrials may not go below the trials already started. */
  async patch(s: SweepRowDb, body: Static<typeof PatchSweep>) {
    if (s.status === 'stopped' || s.status === 'completed' || s.status === 'stopping')
      throw new ConflictException(`sweep ${s.name} is ${s.status}; only an active sweep's limits can change`);
    const { rows } = await this.db.pool.query<SweepRowDb>(
      `UPDATE sweeps SET max_trials = COALESCE($2, max_trials), parallelism = COALESCE($3, parallelism),
         updated_at = now()
       WHERE id = $1 AND ($2::int IS NULL OR $2 >= (SELECT count(*) FROM trials WHERE sweep_id = $1))
         AND status = ANY($4::sweep_status[])
       RETURNING *`,
      [s.id, body.maxTrials ?? null, body.parallelism ?? null, ['running', 'paused']],
    );
    if (!rows[0]) {
      const now = await this.row(s.id);
      if (now.status !== 'running' && now.status !== 'paused')
        throw new ConflictException(
          `sweep ${s.name} is ${now.status}; only an active sweep's limits can change`,
        );
      const started = await this.db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM trials WHERE sweep_id = $1',
        [s.id],
      );
      throw badRequest([
        {
          path: 'body.maxTrials',
          message: `must be ≥ ${started.rows[0]!.n}, the trials already started; got ${body.maxTrials}`,
        },
      ]);
    }
    await this.events.changed(s.id);
    return this.get(rows[0]);
  }

  async act(s: SweepRowDb, action: SweepAction) {
    const t = TRANSITIONS[action];
    const { rows } = await this.db.pool.query<SweepRowDb>(
      `UPDATE sweeps SET status = $2, updated_at = now() WHERE id = $1 AND status = ANY($3::sweep_status[])
       RETURNING *`,
      [s.id, t.to, t.from],
    );
    if (!rows[0]) {
      const now = await this.row(s.id);
      throw new ConflictException(
        `cannot ${action} sweep ${s.name}: it is ${now.status} (${action} needs ${t.from.join(' or ')})`,
      );
    }
    await this.events.changed(s.id);
    return this.get(rows[0]);
  }

  /** Only a finished sweep is deleted (its trials with it; the runs stay); stop an active one first. */
  async delete(s: SweepRowDb): Promise<void> {
    const r = await this.db.pool.query(
      `DELETE FROM sweeps WHERE id = $1 AND status IN ('stopped', 'completed')`,
      [s.id],
    );
    if (!r.rowCount)
      throw new ConflictException(
        s.status === 'stopping'
          ? `sweep ${s.name} is stopping; delete it once it is stopped`
          : `sweep ${s.name} is ${s.status}; stop it (POST .../stop) before deleting it`,
      );
  }

  /**
   * Trial updates as server-sent events: every trial whose row changed, and the sweep's status when it
   * changes. Polls the rows (one indexed query a second), so it works across API replicas and whichever
   * worker wrote them.
   */
  stream(s: SweepRowDb): Observable<{ type: string; data: object }> {
    const seen = new Map<string, number>();
    let status = '';
    let since = new Date(0);
    return timer(0, STREAM_POLL_MS).pipe(
      exhaustMap(() => from(this.changes(s.id, since))),
      mergeMap(({ sweep, trials }) => {
        const out: { type: string; data: object }[] = [];
        if (sweep && sweep.status !== status) {
          status = sweep.status;
          out.push({ type: 'sweep', data: { id: sweep.id, status: sweep.status, message: sweep.message } });
        }
        for (const t of trials) {
          const at = t.updated_at.getTime();
          if (seen.get(t.id) === at) continue;
          seen.set(t.id, at);
          out.push({ type: 'trial', data: trialJson(t) });
          // Rows written in the same millisecond as the newest seen one are read again next time.
          if (at - 1 > since.getTime()) since = new Date(at - 1);
        }
        return from(out);
      }),
    );
  }

  private async changes(sweepId: string, since: Date) {
    const [sweep, trials] = await Promise.all([
      this.db.pool.query<SweepRowDb>('SELECT * FROM sweeps WHERE id = $1', [sweepId]),
      this.db.pool.query<TrialRowDb>(
        'SELECT * FROM trials WHERE sweep_id = $1 AND updated_at >= $2 ORDER BY updated_at, number LIMIT 1000',
        [sweepId, since],
      ),
    ]);
    return { sweep: sweep.rows[0], trials: trials.rows };
  }
}

// Runs of a project filtered by hyperparameter and latest-metric conditions and sorted by any column
// (name, status, created/started time, step, a hyperparameter or a latest metric), one page at a time:
// what the dashboard's runs table asks for. One SQL query picks the page's ids and the total.
import type { Db } from '@kiln/db';
import { Inject, Injectable } from '@nestjs/common';
import type { Static } from '@sinclair/typebox';
import { DB } from '../core/tokens.js';
import { badRequest } from '../http/validation.js';
import { runJson } from '../runs/run-json.js';
import { conditionSql, parseConditions } from './conditions.js';
import type { SearchRunsQuery } from './search-query.js';

const plainSorts: Record<string, string> = {
  name: 'name',
  status: 'status::text',
  createdAt: 'created_at',
  startedAt: 'started_at',
  step: 'step',
};

@Injectable()
export class RunSearchService {
  constructor(@Inject(DB) private readonly db: Db) {}

  async search(projectId: string, q: Static<typeof SearchRunsQuery>) {
    const { conditions, errors } = parseConditions(q.where ?? '', 'query.where');
    const sort = q.sort ?? '-createdAt';
    const desc = sort.startsWith('-');
    const col = desc ? sort.slice(1) : sort;
    const params: unknown[] = [projectId];
    let order: string;
    if (plainSorts[col]) order = plainSorts[col];
    else if (/^(hp|metric)\.[^;]{1,256}$/.test(col)) {
      params.push(col.slice(col.indexOf('.') + 1));
      order = `${col.startsWith('hp.') ? 'hyperparams' : 'last_metrics'} -> $${params.length}`;
    } else {
      errors.push({
        path: 'query.sort',
        message: `expected name, status, createdAt, startedAt, step, hp.<name> or metric.<name> (with - for descending), got ${JSON.stringify(sort)}`,
      });
      order = 'created_at';
    }
    if (errors.length) throw badRequest(errors);
    const where = ['project_id = $1'];
    if (q.status) {
      params.push(q.status);
      where.push(`status::text = $${params.length}`);
    }
    if (q.sweepId) {
      params.push(q.sweepId);
      where.push(`sweep_id = $${params.length}`);
    }
    if (q.name) {
      params.push(q.name);
      where.push(`strpos(name, $${params.length}) > 0`);
    }
    for (const c of conditions) {
      const s = conditionSql(c, params.length + 1);
      params.push(...s.params);
      where.push(s.sql);
    }
    params.push(q.limit ?? 50, q.offset ?? 0);
    const { rows } = await this.db.pool.query<{ id: string; total: string }>(
      `SELECT id, count(*) OVER () AS total FROM runs WHERE ${where.join(' AND ')}
       ORDER BY ${order} ${desc ? 'DESC' : 'ASC'} NULLS LAST, id
       LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    );
    const ids = rows.map((r) => r.id);
    const found = await this.db.prisma.run.findMany({ where: { id: { in: ids } } });
    const byId = new Map(found.map((r) => [r.id, r]));
    let total = rows[0] ? Number(rows[0].total) : 0;
    if (!rows[0] && (q.offset ?? 0) > 0) {
      // A page past the end still reports how many runs match.
      const c = await this.db.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM runs WHERE ${where.join(' AND ')}`,
        params.slice(0, -2),
      );
      total = Number(c.rows[0]!.n);
    }
    return { items: ids.flatMap((id) => (byId.has(id) ? [runJson(byId.get(id)!)] : [])), total };
  }
}

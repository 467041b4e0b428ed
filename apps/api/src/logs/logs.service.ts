// Worker log lines of a run: appended, trimmed to the newest KILN_LOG_TAIL_LINES per worker and
// KILN_LOG_RUN_LINES per run, streamed (the bus carries the id range; each stream reads the lines back).
import type { Db } from '@kiln/db';
import { Inject, Injectable } from '@nestjs/common';
import type { Static } from '@sinclair/typebox';
import { concatMap, filter, from, type Observable } from 'rxjs';
import { type ApiConfig, limitsOf } from '../config.js';
import { API_CONFIG, DB } from '../core/tokens.js';
import type { AppendLogs, LogsQuery } from '../http/schemas.js';
import { LiveBus } from '../live/bus.js';

export interface LogBatch {
  type: 'logs';
  runId: string;
  worker: string;
  lines: string[];
  /** Each line's id, as the tail answers it: a reader that opened the stream before reading the tail
   * drops the lines it already has. */
  ids: number[];
}

@Injectable()
export class LogsService {
  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly bus: LiveBus,
  ) {}

  async append(runId: string, b: Static<typeof AppendLogs>) {
    const lines = b.lines.map((l) => l.replaceAll('\u0000', ''));
    const { rows } = await this.db.pool.query<{ first: number; last: number }>(
      `WITH ins AS (INSERT INTO log_lines (run_id, worker, line) SELECT $1, $2, unnest($3::text[]) RETURNING id)
       SELECT min(id) AS first, max(id) AS last FROM ins`,
      [runId, b.worker, lines],
    );
    // Separate statements: within one statement a delete would not see the rows just inserted.
    await this.db.pool.query(
      `DELETE FROM log_lines WHERE run_id = $1 AND worker = $2 AND id <= (
         SELECT id FROM log_lines WHERE run_id = $1 AND worker = $2 ORDER BY id DESC OFFSET $3 LIMIT 1)`,
      [runId, b.worker, this.config.logTailLines],
    );
    await this.db.pool.query(
      `DELETE FROM log_lines WHERE run_id = $1 AND id <= (
         SELECT id FROM log_lines WHERE run_id = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)`,
      [runId, limitsOf(this.config).logRunLines],
    );
    this.bus.publish({
      type: 'logs',
      runId,
      worker: b.worker,
      firstId: rows[0]!.first,
      lastId: rows[0]!.last,
    });
    return { appended: lines.length };
  }

  /** The newest lines, oldest first; one worker's or every worker's. */
  async tail(runId: string, q: Static<typeof LogsQuery>) {
    const rows = await this.db.prisma.logLine.findMany({
      where: { runId, ...(q.worker && { worker: q.worker }) },
      orderBy: { id: 'desc' },
      take: q.limit ?? 200,
    });
    return rows.reverse().map((r) => ({ id: Number(r.id), worker: r.worker, time: r.time, line: r.line }));
  }

  /** Each appended batch as it arrives (lines already trimmed away are left out). */
  stream(runId: string, worker?: string): Observable<LogBatch> {
    return this.bus.run(runId, ['logs']).pipe(
      filter((u) => u.type === 'logs' && (!worker || u.worker === worker)),
      concatMap((u) => {
        const n = u as Extract<typeof u, { type: 'logs' }>;
        return from(
          this.db.pool
            .query<{ id: number; line: string }>(
              'SELECT id, line FROM log_lines WHERE run_id = $1 AND worker = $2 AND id BETWEEN $3 AND $4 ORDER BY id',
              [runId, n.worker, n.firstId, n.lastId],
            )
            .then(({ rows }) => ({
              type: 'logs' as const,
              runId,
              worker: n.worker,
              lines: rows.map((r) => r.line),
              ids: rows.map((r) => Number(r.id)),
            })),
        );
      }),
    );
  }
}

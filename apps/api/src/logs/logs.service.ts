// Worker log lines of a run: appended, trimmed to the newest KILN_LOG_TAIL_LINES per worker, streamed.
import type { Db } from '@kiln/db';
import { Inject, Injectable } from '@nestjs/common';
import type { Static } from '@sinclair/typebox';
import { filter, type Observable } from 'rxjs';
import type { ApiConfig } from '../config.js';
import { API_CONFIG, DB } from '../core/tokens.js';
import type { AppendLogs, LogsQuery } from '../http/schemas.js';
import { LiveBus, type RunUpdate } from '../live/bus.js';

@Injectable()
export class LogsService {
  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly bus: LiveBus,
  ) {}

  async append(runId: string, b: Static<typeof AppendLogs>) {
    const lines = b.lines.map((l) => l.replaceAll('\u0000', ''));
    await this.db.pool.query(
      'INSERT INTO log_lines (run_id, worker, line) SELECT $1, $2, unnest($3::text[])',
      [runId, b.worker, lines],
    );
    // A separate statement: within one statement the delete would not see the rows just inserted.
    await this.db.pool.query(
      `DELETE FROM log_lines WHERE run_id = $1 AND worker = $2 AND id <= (
         SELECT id FROM log_lines WHERE run_id = $1 AND worker = $2 ORDER BY id DESC OFFSET $3 LIMIT 1)`,
      [runId, b.worker, this.config.logTailLines],
    );
    this.bus.publish({ type: 'logs', runId, worker: b.worker, lines });
    return { appended: lines.length };
  }

  /** The newest lines, oldest first; one worker's or every worker's. */
  async tail(runId: string, q: Static<typeof LogsQuery>) {
    const rows = await this.db.prisma.logLine.findMany({
      where: { runId, ...(q.worker && { worker: q.worker }) },
      orderBy: { id: 'desc' },
      take: q.limit ?? 200,
    });
    return rows.reverse().map((r) => ({ worker: r.worker, time: r.time, line: r.line }));
  }

  stream(runId: string, worker?: string): Observable<RunUpdate> {
    return this.bus
      .run(runId, ['logs'])
      .pipe(filter((u) => u.type === 'logs' && (!worker || u.worker === worker)));
  }
}

import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Sse } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { filter, map, type Observable } from 'rxjs';
import { type AuthedRequest, assertRunRead, assertRunWrite } from '../auth/principal.js';
import { AppendLogs, LogsQuery } from '../http/schemas.js';
import { check } from '../http/validation.js';
import { Services } from '../services.js';

// biome-ignore lint/suspicious/noExplicitAny: TypeBox schemas are JSON Schema; swagger's type is narrower.
const schema = (s: unknown) => ({ schema: s as any });

@ApiTags('logs')
@ApiBearerAuth()
@Controller()
export class LogsController {
  constructor(private readonly s: Services) {}

  /** Appends a worker's lines and trims that worker's tail to the newest KILN_LOG_TAIL_LINES. */
  @Post('runs/:runId/logs')
  @HttpCode(200)
  @ApiBody(schema(AppendLogs))
  async append(@Req() req: AuthedRequest, @Param('runId') runId: string, @Body() body: unknown) {
    const run = await this.s.run(runId);
    assertRunWrite(req.principal, run);
    const b = check(AppendLogs, body, 'body');
    const lines = b.lines.map((l) => l.replaceAll('\u0000', ''));
    await this.s.db.pool.query(
      'INSERT INTO log_lines (run_id, worker, line) SELECT $1, $2, unnest($3::text[])',
      [run.id, b.worker, lines],
    );
    // A separate statement: within one statement the delete would not see the rows just inserted.
    await this.s.db.pool.query(
      `DELETE FROM log_lines WHERE run_id = $1 AND worker = $2 AND id <= (
         SELECT id FROM log_lines WHERE run_id = $1 AND worker = $2 ORDER BY id DESC OFFSET $3 LIMIT 1)`,
      [run.id, b.worker, this.s.config.logTailLines],
    );
    this.s.bus.publish({ type: 'logs', runId: run.id, worker: b.worker, lines });
    return { appended: lines.length };
  }

  /** The newest lines, oldest first; one worker's or every worker's. */
  @Get('runs/:runId/logs')
  async tail(@Req() req: AuthedRequest, @Param('runId') runId: string, @Query() query: unknown) {
    const run = await this.s.run(runId);
    assertRunRead(req.principal, run);
    const q = check(LogsQuery, query, 'query');
    const rows = await this.s.db.prisma.logLine.findMany({
      where: { runId: run.id, ...(q.worker && { worker: q.worker }) },
      orderBy: { id: 'desc' },
      take: q.limit ?? 200,
    });
    return rows.reverse().map((r) => ({ worker: r.worker, time: r.time, line: r.line }));
  }

  @Sse('runs/:runId/logs/stream')
  async stream(
    @Req() req: AuthedRequest,
    @Param('runId') runId: string,
    @Query() query: unknown,
  ): Promise<Observable<{ data: object }>> {
    const run = await this.s.run(runId);
    assertRunRead(req.principal, run);
    const q = check(LogsQuery, query, 'query');
    return this.s.bus.run(run.id, ['logs']).pipe(
      filter((u) => u.type === 'logs' && (!q.worker || u.worker === q.worker)),
      map((u) => ({ data: u })),
    );
  }
}

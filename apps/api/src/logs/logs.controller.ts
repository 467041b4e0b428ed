import { Body, Controller, Get, Param, Post, Query, Sse } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Static } from '@sinclair/typebox';
import { map, type Observable } from 'rxjs';
import { Caller } from '../auth/caller.js';
import { assertRunRead, assertRunWrite, type Principal } from '../auth/principal.js';
import { Lookup } from '../core/lookup.js';
import { ApiAnswer, ApiEventStream, ApiJsonBody, ApiQueryOf } from '../http/openapi.js';
import { Appended, LogLines } from '../http/responses.js';
import { AppendLogs, LogsQuery } from '../http/schemas.js';
import { uuid, Validated } from '../http/validated.pipe.js';
import { StreamAccess } from '../live/stream-access.js';
import { LogsService } from './logs.service.js';

@ApiTags('logs')
@ApiBearerAuth()
@Controller()
export class LogsController {
  constructor(
    private readonly lookup: Lookup,
    private readonly logs: LogsService,
    private readonly access: StreamAccess,
  ) {}

  /** Appends a worker's lines and trims that worker's tail to the newest KILN_LOG_TAIL_LINES. */
  @Post('runs/:runId/logs')
  @ApiAnswer(Appended)
  @ApiJsonBody(AppendLogs)
  async append(
    @Caller() caller: Principal,
    @Param('runId', uuid('runId')) runId: string,
    @Body(new Validated(AppendLogs)) body: Static<typeof AppendLogs>,
  ) {
    const run = await this.lookup.runRef(runId);
    assertRunWrite(caller, run);
    return this.logs.append(run.id, body);
  }

  /** The newest lines, oldest first; one worker's or every worker's. */
  @Get('runs/:runId/logs')
  @ApiAnswer(LogLines)
  @ApiQueryOf(LogsQuery)
  async tail(
    @Caller() caller: Principal,
    @Param('runId', uuid('runId')) runId: string,
    @Query(new Validated(LogsQuery, 'query')) q: Static<typeof LogsQuery>,
  ) {
    const run = await this.lookup.runRef(runId);
    assertRunRead(caller, run);
    return this.logs.tail(run.id, q);
  }

  @Sse('runs/:runId/logs/stream')
  @ApiEventStream()
  @ApiQueryOf(LogsQuery)
  async stream(
    @Caller() caller: Principal,
    @Param('runId', uuid('runId')) runId: string,
    @Query(new Validated(LogsQuery, 'query')) q: Static<typeof LogsQuery>,
  ): Promise<Observable<{ data: object }>> {
    const run = await this.lookup.runRef(runId);
    assertRunRead(caller, run);
    return this.access.whileValid(caller, this.logs.stream(run.id, q.worker)).pipe(map((u) => ({ data: u })));
  }
}

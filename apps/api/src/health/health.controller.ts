import type { Db } from '@kiln/db';
import { Controller, Get, Header, HttpException, Inject } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import { Caller } from '../auth/caller.js';
import { Public } from '../auth/guard.js';
import { assertAdmin, type Principal } from '../auth/principal.js';
import { DB } from '../core/tokens.js';
import { ApiAnswer } from '../http/openapi.js';
import { Health } from '../http/responses.js';
import { Prometheus } from '../prometheus/prometheus.js';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    @Inject(DB) private readonly db: Db,
    private readonly prometheus: Prometheus,
  ) {}

  /** Liveness: the process answers. */
  @Public()
  @Get('healthz')
  @ApiAnswer(Health)
  health() {
    return { status: 'ok' };
  }

  /** Readiness: the database answers. */
  @Public()
  @Get('readyz')
  @ApiAnswer(Health)
  async ready() {
    try {
      await this.db.pool.query('SELECT 1');
      return { status: 'ready', database: 'ok' };
    } catch (e) {
      throw new HttpException(
        { statusCode: 503, status: 'unavailable', database: String((e as Error).message) },
        503,
      );
    }
  }

  /** Prometheus exposition; needs the admin token (scrapers send it as a bearer token). */
  @ApiExcludeEndpoint()
  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4')
  async metrics(@Caller() caller: Principal) {
    assertAdmin(caller);
    return this.prometheus.registry.metrics();
  }
}

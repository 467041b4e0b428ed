import { Controller, Get, Header, HttpException, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/guard.js';
import { type AuthedRequest, assertAdmin } from '../auth/principal.js';
import { Services } from '../services.js';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(private readonly s: Services) {}

  /** Liveness: the process answers. */
  @Public()
  @Get('healthz')
  health() {
    return { status: 'ok' };
  }

  /** Readiness: the database answers. */
  @Public()
  @Get('readyz')
  async ready() {
    try {
      await this.s.db.pool.query('SELECT 1');
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
  async metrics(@Req() req: AuthedRequest) {
    assertAdmin(req.principal);
    return this.s.metrics.registry.metrics();
  }
}

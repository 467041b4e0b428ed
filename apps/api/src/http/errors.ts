// Turns what is not already an HTTP error into one: database unreachable → 503 (clients retry),
// Prisma's "unique constraint" → 409, "record not found" → 404; anything else → 500, logged.
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08006',
  '08001',
  '08003',
]);

function isDbUnavailable(e: unknown): boolean {
  for (
    let cur = e as { code?: unknown; cause?: unknown; message?: unknown } | undefined, i = 0;
    cur && i < 5;
    i++
  ) {
    if (typeof cur.code === 'string' && unavailableCodes.has(cur.code)) return true;
    const msg = typeof cur.message === 'string' ? cur.message : '';
    if (
      /Connection terminated|connect ECONNREFUSED|Can't reach database|terminating connection|the database system is (starting up|shutting down)|DatabaseNotReachable|Client has encountered a connection error/i.test(
        msg,
      )
    )
      return true;
    cur = cur.cause as typeof cur;
  }
  return false;
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    // A handler may have set another content type (text for /metrics) before failing.
    reply.type('application/json; charset=utf-8');
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      const status = exception.getStatus();
      if (status === 429 && typeof body === 'object' && body && 'retryAfterSeconds' in body)
        reply.header('retry-after', String((body as { retryAfterSeconds: number }).retryAfterSeconds));
      reply.status(status).send(typeof body === 'string' ? { statusCode: status, message: body } : body);
      return;
    }
    const e = exception as { code?: string; statusCode?: number; message?: string };
    // Fastify's own errors (body too large, bad JSON, bad content type) carry a 4xx statusCode.
    if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      reply.status(e.statusCode).send({ statusCode: e.statusCode, error: 'Bad Request', message: e.message });
      return;
    }
    if (isDbUnavailable(exception)) {
      reply.status(503).header('retry-after', '1').send({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'database unavailable; retry later',
      });
      return;
    }
    if (e?.code === 'P2002') {
      reply.status(409).send({ statusCode: 409, error: 'Conflict', message: 'already exists' });
      return;
    }
    // A run deleted while a request for it was in flight (its series' foreign key).
    if (e?.code === '23503') {
      reply.status(404).send({ statusCode: 404, error: 'Not Found', message: 'run not found' });
      return;
    }
    if (e?.code === 'P2025') {
      reply.status(404).send({ statusCode: 404, error: 'Not Found', message: 'not found' });
      return;
    }
    // Printed even when Nest's logger is off: a 500 is always a bug to look at.
    console.error(
      `[kiln api] 500: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
    );
    reply.status(500).send({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
  }
}

// Turns what is not already an HTTP error into one: database unreachable → 503 (clients retry),
// Postgres data exceptions → 400, Prisma's "unique constraint" → 409, "record not found" → 404;
// anything else → 500, logged.
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

type ErrorChain = {
  code?: unknown;
  originalCode?: unknown;
  message?: unknown;
  originalMessage?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: unknown };
};

/** The error and what it wraps: `cause`, or Prisma's `meta.driverAdapterError`. */
function* chain(e: unknown): Generator<ErrorChain> {
  let cur = e as ErrorChain | undefined;
  for (let i = 0; cur && typeof cur === 'object' && i < 6; i++) {
    yield cur;
    cur = (cur.cause ?? cur.meta?.driverAdapterError) as ErrorChain | undefined;
  }
}

/** The SQLSTATE of a pg error, also when Prisma's driver adapter wraps it. */
function pgErrorCode(e: unknown): string | undefined {
  for (const cur of chain(e)) {
    if ('clientVersion' in cur) continue; // Prisma's own codes (P2039) look like SQLSTATEs
    for (const c of [cur.originalCode, cur.code])
      if (typeof c === 'string' && /^[0-9A-Z]{5}$/.test(c)) return c;
  }
  return undefined;
}

function pgMessage(e: unknown): string {
  for (const cur of chain(e)) if (typeof cur.originalMessage === 'string') return cur.originalMessage;
  return 'rejected by the database';
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
    // Postgres' data exceptions (class 22): a value it cannot store, e.g. a NUL character in text or JSON.
    const pgCode = pgErrorCode(exception);
    if (pgCode?.startsWith('22')) {
      reply
        .status(400)
        .send({ statusCode: 400, error: 'Bad Request', message: `invalid value: ${pgMessage(exception)}` });
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

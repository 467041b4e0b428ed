// Finishes the generated OpenAPI document: version 3.1 (the schemas are JSON Schema 2020-12), an opaque
// bearer scheme, UUID path ids, and the error answers each operation can give, so a client (or the
// contract test) can rely on every status code and body being documented.
import type { OpenAPIObject } from '@nestjs/swagger';
import { apiSchema } from './openapi.js';
import { ErrorBody } from './responses.js';
import { Uuid } from './schemas.js';

const reasons: Record<number, string> = {
  400: 'invalid input; `errors` names each field and what was expected',
  401: 'missing, unknown, expired or revoked token',
  403: 'the token may not do this (read-only, run token on another run, admin only)',
  404: 'no such object, or one in another project',
  409: 'already exists, or a per-project/per-run limit is reached',
  413: 'body or batch too large',
  415: 'unsupported Content-Type, charset or Content-Encoding',
  429: 'ingest rate limit of the project; see Retry-After',
  431: 'request line or headers too large (answered by the HTTP server itself)',
  503: 'database (or, for jobs, cluster) unavailable; retry later',
};

type Operation = {
  parameters?: { name: string; in: string; schema?: unknown; required?: boolean }[];
  responses: Record<string, unknown>;
  requestBody?: unknown;
  security?: unknown;
};

export function finishDocument(doc: OpenAPIObject): OpenAPIObject {
  const out = doc as OpenAPIObject & { openapi: string };
  out.openapi = '3.1.0';
  out.components = {
    ...out.components,
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'an opaque Kiln token (admin, project or run)' },
    },
    schemas: { ...out.components?.schemas, Error: apiSchema(ErrorBody) },
  };
  for (const [path, item] of Object.entries(out.paths)) {
    for (const [method, op] of Object.entries(item as Record<string, Operation>)) {
      if (!op || typeof op !== 'object' || !('responses' in op)) continue;
      for (const p of op.parameters ?? [])
        if (p.in === 'path') {
          p.required = true;
          p.schema = /Id$/.test(p.name) ? apiSchema(Uuid) : { type: 'string', minLength: 1 };
        }
      const isPublic = path === '/healthz' || path === '/readyz';
      const codes = isPublic
        ? path === '/readyz'
          ? [431, 503]
          : [431]
        : [400, 401, 403, 404, 431, 503, ...(method === 'get' || method === 'delete' ? [] : [409, 413, 415])];
      if (/\/metrics$/.test(path) && method === 'post') codes.push(429);
      for (const code of codes)
        op.responses[String(code)] ??= {
          description: reasons[code],
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        };
      if (isPublic) delete op.security;
      else op.security = [{ bearer: [] }];
    }
  }
  return out;
}

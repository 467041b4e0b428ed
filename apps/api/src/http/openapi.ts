// OpenAPI from the routes: TypeBox schemas are JSON Schema, published as they are (3.1 is JSON Schema
// 2020-12, so `const`, `type: "null"` and the rest are valid). The one helper for route schemas.
import { applyDecorators, HttpCode } from '@nestjs/common';
import { ApiBody, ApiProduces, ApiQuery, ApiResponse } from '@nestjs/swagger';
import type { TObject, TSchema } from '@sinclair/typebox';
import { EventStream } from './responses.js';

// biome-ignore lint/suspicious/noExplicitAny: @nestjs/swagger's SchemaObject type is narrower than JSON Schema.
export const apiSchema = (s: TSchema): any => s;

/** Documents a request body. */
export const ApiJsonBody = (s: TSchema) => ApiBody({ schema: apiSchema(s) });

/** Documents every property of a query schema as a query parameter. */
export function ApiQueryOf(s: TObject): MethodDecorator {
  const required = new Set(s.required ?? []);
  return applyDecorators(
    ...Object.entries(s.properties).map(([name, p]) =>
      ApiQuery({ name, required: required.has(name), schema: apiSchema(p) }),
    ),
  );
}

/** Documents the success answer (and sets its status, 200 unless given). */
export function ApiAnswer(s: TSchema | null, status = 200): MethodDecorator {
  return applyDecorators(
    HttpCode(status),
    s ? ApiResponse({ status, schema: apiSchema(s) }) : ApiResponse({ status, description: 'no content' }),
  );
}

/** Documents an error answer an operation gives beyond the ones every operation of its kind documents. */
export const ApiError = (status: number, description: string) =>
  ApiResponse({
    status,
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  });

/** Documents a server-sent event stream. */
export const ApiEventStream = () =>
  applyDecorators(
    ApiProduces('text/event-stream'),
    ApiResponse({ status: 200, content: { 'text/event-stream': { schema: apiSchema(EventStream) } } }),
  );

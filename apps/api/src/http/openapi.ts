// TypeBox schemas are JSON Schema; @nestjs/swagger's decorators take its own narrower type.
import { ApiBody, ApiQuery } from '@nestjs/swagger';
import type { TObject, TSchema } from '@sinclair/typebox';

// biome-ignore lint/suspicious/noExplicitAny: see above.
export const apiSchema = (s: TSchema): any => s;

/** Documents a request body. */
export const ApiJsonBody = (s: TSchema) => ApiBody({ schema: apiSchema(s) });

/** Documents every property of a query schema as a query parameter. */
export function ApiQueryOf(s: TObject): MethodDecorator {
  const required = new Set(s.required ?? []);
  const each = Object.entries(s.properties).map(([name, p]) =>
    ApiQuery({ name, required: required.has(name), schema: apiSchema(p) }),
  );
  return (target, key, desc) => {
    for (const d of each) d(target, key, desc);
  };
}

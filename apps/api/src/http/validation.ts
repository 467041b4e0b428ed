// Request validation with TypeBox (the same library @kiln/spec uses): schemas double as the OpenAPI
// document's schemas, the compiled checker is fast enough for metric batches, and every error names
// the field path and what was expected.
import { BadRequestException } from '@nestjs/common';
import type { Static, TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { walkJson } from './json-walk.js';

export interface FieldError {
  path: string;
  message: string;
}

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

/** `/points/3/value` → `points[3].value`, prefixed with where the value came from. */
export function fieldPath(where: string, pointer: string): string {
  let out = where;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg)
      ? `[${seg}]`
      : /^[A-Za-z_$][\w$]*$/.test(seg)
        ? `.${seg}`
        : `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function badRequest(errors: FieldError[]): BadRequestException {
  const head = errors
    .slice(0, 3)
    .map((e) => `${e.path}: ${e.message}`)
    .join('; ');
  const more = errors.length > 3 ? ` (and ${errors.length - 3} more)` : '';
  return new BadRequestException({ statusCode: 400, error: 'Bad Request', message: head + more, errors });
}

function describeError(e: { message: string; schema: TSchema; value: unknown }): string {
  if (typeof e.value === 'number' && !Number.isFinite(e.value)) return 'expected a finite number';
  return e.message.charAt(0).toLowerCase() + e.message.slice(1);
}

const decimal = /^(0|[1-9]\d*)$/;

/** Integer query parameters are decimal digits only: "1e300", "4.5", " 7" or "0x10" are refused, not read. */
function strictIntegers(schema: TSchema, input: unknown, where: string): FieldError[] {
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (!props || !input || typeof input !== 'object') return [];
  const errors: FieldError[] = [];
  for (const [name, raw] of Object.entries(input as Record<string, unknown>)) {
    const p = props[name];
    if (p?.type === 'integer' && typeof raw === 'string' && !decimal.test(raw))
      errors.push({
        path: `${where}.${name}`,
        message: `expected integer (decimal digits only), got ${JSON.stringify(raw)}`,
      });
  }
  return errors;
}

/**
 * Checks `input` against `schema`; throws a 400 listing up to 20 field errors. `where` names the input
 * (`body`, `query`, `params.runId`); all but bodies arrive as strings and are converted first ("5" → 5).
 * Bodies are also walked for what JSON allows and the store cannot keep (see json-walk.ts) unless
 * `walk` is false (callers whose schema admits only flat values).
 */
export function check<S extends TSchema>(schema: S, input: unknown, where: string, walk = true): Static<S> {
  let c = compiled.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    compiled.set(schema, c);
  }
  if (where === 'body' && (input === undefined || input === null))
    throw badRequest([{ path: 'body', message: 'expected a JSON body' }]);
  if (where !== 'body') {
    const errors = strictIntegers(schema, input, where);
    if (errors.length) throw badRequest(errors);
  }
  const value = where === 'body' ? input : Value.Convert(schema, Value.Clone(input ?? {}));
  if (where === 'body' && walk) {
    const bad = walkJson(value, 'body');
    if (bad) throw badRequest([bad]);
  }
  if (c.Check(value)) return value as Static<S>;
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of c.Errors(value)) {
    const path = fieldPath(where, e.path);
    if (seen.has(path)) continue;
    seen.add(path);
    errors.push({ path, message: describeError(e) });
    if (errors.length >= 20) break;
  }
  throw badRequest(errors.length ? errors : [{ path: where, message: 'invalid' }]);
}

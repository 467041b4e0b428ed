// The validation pipe: `@Body(new Validated(CreateRun)) body: Static<typeof CreateRun>` hands the handler
// a typed, checked value, or answers 400 naming each field (see check()). Query strings and path
// parameters are converted from strings first.
import { type PipeTransform } from '@nestjs/common';
import type { Static, TSchema } from '@sinclair/typebox';
import { Uuid } from './schemas.js';
import { check } from './validation.js';

export class Validated<S extends TSchema> implements PipeTransform<unknown, Static<S>> {
  /** `where` names the input in errors: `body`, `query`, `params.runId`. */
  constructor(
    readonly schema: S,
    private readonly where = 'body',
  ) {}

  transform(value: unknown): Static<S> {
    return check(this.schema, value, this.where);
  }
}

/** A path id that must be a UUID, e.g. `@Param('runId', uuid('runId'))`. */
export const uuid = (name: string) => new Validated(Uuid, `params.${name}`);

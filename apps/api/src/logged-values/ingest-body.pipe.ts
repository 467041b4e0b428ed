// The ingest body: refused with 413 by its point count before it is walked, then checked by schema, then
// across fields (one value and time per step).
import { Inject, Injectable, PayloadTooLargeException, type PipeTransform } from '@nestjs/common';
import type { Static } from '@sinclair/typebox';
import type { ApiConfig } from '../config.js';
import { API_CONFIG } from '../core/tokens.js';
import { wellFormed } from '../http/json-walk.js';
import { IngestMetrics } from '../http/schemas.js';
import { badRequest, check, type FieldError } from '../http/validation.js';

export type IngestBody = Static<typeof IngestMetrics>;

/** Points in a body, counted before validation so an oversized batch is refused without walking it. */
function sizeOf(body: unknown): number {
  if (!body || typeof body !== 'object') return 0;
  const { points, series } = body as { points?: unknown; series?: unknown };
  let n = Array.isArray(points) ? points.length : 0;
  if (Array.isArray(series))
    for (const s of series)
      if (s && typeof s === 'object' && Array.isArray((s as { steps?: unknown }).steps))
        n += (s as { steps: unknown[] }).steps.length;
  return n;
}

@Injectable()
export class IngestBodyPipe implements PipeTransform<unknown, IngestBody> {
  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  transform(body: unknown): IngestBody {
    const max = this.config.maxBatchPoints;
    const count = sizeOf(body);
    if (count > max)
      throw new PayloadTooLargeException(
        `body: at most ${max} points per request, got ${count}; split the batch`,
      );
    // The schema admits only flat values; keys are the only strings, checked below.
    const b = check(IngestMetrics, body, 'body', false);
    const errors: FieldError[] = [];
    const malformed = 'expected well-formed Unicode (a lone UTF-16 surrogate)';
    for (const [i, p] of (b.points ?? []).entries())
      if (!wellFormed(p.key)) errors.push({ path: `body.points[${i}].key`, message: malformed });
    for (const [i, s] of (b.series ?? []).entries()) {
      if (!wellFormed(s.key)) errors.push({ path: `body.series[${i}].key`, message: malformed });
      if (s.values.length !== s.steps.length)
        errors.push({
          path: `body.series[${i}].values`,
          message: `expected ${s.steps.length} items (one per step), got ${s.values.length}`,
        });
      if (s.times && s.times.length !== s.steps.length)
        errors.push({
          path: `body.series[${i}].times`,
          message: `expected ${s.steps.length} items (one per step), got ${s.times.length}`,
        });
    }
    if (errors.length) throw badRequest(errors);
    if (count === 0) throw badRequest([{ path: 'body', message: 'expected at least one point' }]);
    return b;
  }
}

// The run search's filter language: conditions on hyperparameters and latest metrics, `;`-separated,
// e.g. `hp.lr>=0.001;metric.val/loss<0.5;hp.optimizer=adam`. Parsed into SQL over the runs' JSON columns
// with every key and value as a bind parameter; a bad condition is a 400 naming it and what was expected.
import type { FieldError } from '../http/validation.js';

export type Op = '=' | '!=' | '<' | '<=' | '>' | '>=';
export interface Condition {
  column: 'hyperparams' | 'last_metrics';
  key: string;
  op: Op;
  value: number | string;
}

const CONDITION = /^(hp|metric)\.([^<>=!;]{1,256})(<=|>=|!=|=|<|>)(.{0,256})$/;
export const MAX_CONDITIONS = 20;

export function parseConditions(
  text: string,
  path: string,
): { conditions: Condition[]; errors: FieldError[] } {
  const conditions: Condition[] = [];
  const errors: FieldError[] = [];
  const parts = text
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length > MAX_CONDITIONS)
    errors.push({ path, message: `at most ${MAX_CONDITIONS} conditions, got ${parts.length}` });
  for (const [i, part] of parts.slice(0, MAX_CONDITIONS).entries()) {
    const m = CONDITION.exec(part);
    if (!m) {
      errors.push({
        path: `${path}[${i}]`,
        message: `expected hp.<name> or metric.<name>, an operator (= != < <= > >=) and a value, e.g. hp.lr>=0.001; got ${JSON.stringify(part)}`,
      });
      continue;
    }
    const [, kind, key, op, raw] = m as unknown as [string, 'hp' | 'metric', string, Op, string];
    const n = raw.trim() === '' ? Number.NaN : Number(raw);
    const numeric = Number.isFinite(n);
    if (!numeric && op !== '=' && op !== '!=') {
      errors.push({ path: `${path}[${i}]`, message: `${op} needs a number, got ${JSON.stringify(raw)}` });
      continue;
    }
    conditions.push({
      column: kind === 'hp' ? 'hyperparams' : 'last_metrics',
      key: key.trim(),
      op,
      value: numeric ? n : raw,
    });
  }
  return { conditions, errors };
}

/**
 * One SQL predicate per condition, numbering parameters from `next`. Numbers compare only with JSON
 * numbers (a string "0.1" is not 0.1); `!=` also matches runs without the key.
 */
export function conditionSql(c: Condition, next: number): { sql: string; params: unknown[] } {
  const field = `${c.column} -> $${next}`;
  if (typeof c.value === 'number') {
    const cmp = `(jsonb_typeof(${field}) = 'number' AND (${c.column} ->> $${next})::float8 ${c.op} $${next + 1})`;
    return {
      sql: c.op === '!=' ? `(NOT (${cmp.replace(' != ', ' = ')}))` : cmp,
      params: [c.key, c.value],
    };
  }
  const eq = `(jsonb_typeof(${field}) IN ('string', 'boolean') AND ${c.column} ->> $${next} = $${next + 1})`;
  return { sql: c.op === '!=' ? `(NOT ${eq})` : eq, params: [c.key, c.value] };
}

// Turns TypeBox's errors into the ones Kiln shows: one per field, the field named in dotted/bracket form
// (`spec.env[2].name`), and what was expected said in plain words from the schema itself.
import { Kind, type TSchema } from '@sinclair/typebox';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';

export type SpecErrorCode =
  | 'required'
  | 'unknown-field'
  | 'type'
  | 'range'
  | 'length'
  | 'pattern'
  | 'enum'
  | 'format'
  | 'duplicate'
  | 'rule'
  | 'parse';

export interface SpecError {
  /** The field, e.g. `spec.env[2].name`; empty for the document itself. */
  path: string;
  /** What is wrong, in plain words, e.g. `must be an integer ≥ 1 (got -2)`. */
  message: string;
  code: SpecErrorCode;
  /** The offending value, where there is one. */
  value?: unknown;
  /** Where the field is in the source text, when the document was parsed from YAML/JSON. */
  file?: string;
  line?: number;
  column?: number;
  /** Index of the document in a multi-document YAML stream. */
  document?: number;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: SpecError[] };

/** `spec.env[2].name`, `spec.resources.limits["nvidia.com/gpu"]`. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Splits a JSON pointer into keys, turning array positions into numbers by looking at the value. */
export function pointerSegments(pointer: string, root: unknown): (string | number)[] {
  if (pointer === '') return [];
  const keys = pointer
    .slice(1)
    .split('/')
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  const out: (string | number)[] = [];
  let node: unknown = root;
  for (const key of keys) {
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      out.push(Number(key));
      node = node[Number(key)];
    } else {
      out.push(key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}

type AnySchema = TSchema & Record<string, unknown>;
const kindOf = (s: TSchema): string => (s as unknown as Record<symbol, string>)[Kind] ?? '';

function bounds(min: unknown, max: unknown, unit = ''): string {
  const u = unit ? ` ${unit}` : '';
  if (typeof min === 'number' && typeof max === 'number') return `from ${min} to ${max}${u}`;
  if (typeof min === 'number') return `≥ ${min}${u}`;
  if (typeof max === 'number') return `≤ ${max}${u}`;
  return '';
}

const joinWords = (...parts: string[]) => parts.filter(Boolean).join(' ');

/** What a schema accepts, as a noun phrase: "an integer ≥ 1", "one of None, Running, All". */
export function describe(schema: TSchema): string {
  const s = schema as AnySchema;
  if (typeof s.expected === 'string') return s.expected;
  switch (kindOf(schema)) {
    case 'Literal':
      return String(s.const);
    case 'Union': {
      const variants = s.anyOf as TSchema[];
      if (variants.every((v) => kindOf(v) === 'Literal')) {
        return `one of ${variants.map((v) => String((v as AnySchema).const)).join(', ')}`;
      }
      return variants.map(describe).join(' or ');
    }
    case 'Integer':
      return joinWords('an integer', bounds(s.minimum, s.maximum));
    case 'Number':
      return joinWords('a number', bounds(s.minimum, s.maximum));
    case 'String': {
      if (s.minLength === 1 && s.maxLength === undefined && s.pattern === undefined)
        return 'a non-empty string';
      const length =
        s.minLength === 1
          ? typeof s.maxLength === 'number'
            ? `of 1 to ${s.maxLength} characters`
            : ''
          : typeof s.maxLength === 'number'
            ? `of at most ${s.maxLength} characters`
            : '';
      const pattern = typeof s.pattern === 'string' ? `matching /${s.pattern}/` : '';
      return joinWords(s.minLength === 1 && !length ? 'a non-empty string' : 'a string', length, pattern);
    }
    case 'Boolean':
      return 'true or false';
    case 'Null':
      return 'null';
    case 'Array': {
      const count =
        typeof s.minItems === 'number' && typeof s.maxItems === 'number'
          ? `${s.minItems} to ${s.maxItems}`
          : typeof s.minItems === 'number'
            ? `at least ${s.minItems}`
            : typeof s.maxItems === 'number'
              ? `at most ${s.maxItems}`
              : '';
      const distinct = s.uniqueItems === true ? 'distinct' : '';
      return `a list of ${joinWords(count, distinct, 'items')}, each ${describe(s.items as TSchema)}`;
    }
    case 'Object':
      return 'an object';
    case 'Record': {
      const [valueSchema] = Object.values(s.patternProperties as Record<string, TSchema>);
      return valueSchema && kindOf(valueSchema) !== 'Unknown'
        ? `an object whose values are each ${describe(valueSchema)}`
        : 'an object';
    }
    case 'Unknown':
      return 'any value';
    default:
      return 'a valid value';
  }
}

function preview(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (value !== null && typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const CODES: Partial<Record<ValueErrorType, SpecErrorCode>> = {
  [ValueErrorType.ObjectRequiredProperty]: 'required',
  [ValueErrorType.ObjectAdditionalProperties]: 'unknown-field',
  [ValueErrorType.IntegerMinimum]: 'range',
  [ValueErrorType.IntegerMaximum]: 'range',
  [ValueErrorType.NumberMinimum]: 'range',
  [ValueErrorType.NumberMaximum]: 'range',
  [ValueErrorType.StringMinLength]: 'length',
  [ValueErrorType.StringMaxLength]: 'length',
  [ValueErrorType.ArrayMinItems]: 'length',
  [ValueErrorType.ArrayMaxItems]: 'length',
  [ValueErrorType.ObjectMaxProperties]: 'length',
  [ValueErrorType.StringPattern]: 'pattern',
  [ValueErrorType.StringFormat]: 'format',
  [ValueErrorType.ArrayUniqueItems]: 'duplicate',
  [ValueErrorType.Literal]: 'enum',
};

/** The key whose literal value tells a union's object variants apart (`type` for sweep parameters). */
function discriminator(union: AnySchema): string | undefined {
  const variants = union.anyOf as AnySchema[];
  if (!variants.every((v) => kindOf(v) === 'Object')) return undefined;
  const first = variants[0]?.properties as Record<string, TSchema> | undefined;
  return Object.keys(first ?? {}).find((key) =>
    variants.every((v) => {
      const p = (v.properties as Record<string, TSchema>)[key];
      return p !== undefined && kindOf(p) === 'Literal';
    }),
  );
}

function convert(error: ValueError, root: unknown, prefix: readonly (string | number)[]): SpecError[] {
  const segments = [...prefix, ...pointerSegments(error.path, valueAt(root, prefix))];
  const path = formatPath(segments);
  const schema = error.schema as AnySchema;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return [{ path, code: 'required', message: `is required: ${describe(schema)}` }];
    case ValueErrorType.ObjectAdditionalProperties: {
      const known = Object.keys((schema.properties as object | undefined) ?? {});
      return [
        {
          path,
          code: 'unknown-field',
          value: error.value,
          message: `is not a known field (expected one of: ${known.join(', ')})`,
        },
      ];
    }
    case ValueErrorType.ObjectMaxProperties:
      return [{ path, code: 'length', message: `must have at most ${schema.maxProperties} entries` }];
    case ValueErrorType.ArrayMinItems:
    case ValueErrorType.ArrayMaxItems: {
      const got = Array.isArray(error.value) ? error.value.length : 0;
      const count =
        typeof schema.maxItems === 'number'
          ? `${schema.minItems ?? 0} to ${schema.maxItems}`
          : `at least ${schema.minItems}`;
      return [{ path, code: 'length', message: `must have ${count} items (got ${got})` }];
    }
    case ValueErrorType.ArrayUniqueItems:
      return [
        { path, code: 'duplicate', value: error.value, message: 'must not contain the same value twice' },
      ];
    case ValueErrorType.Union: {
      const key = discriminator(schema);
      const value = error.value;
      if (key !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const tag = (value as Record<string, unknown>)[key];
        const variants = schema.anyOf as AnySchema[];
        const match = variants.find((v) => (v.properties as Record<string, AnySchema>)[key]?.const === tag);
        if (match) return schemaErrors(match, root, segments);
        const tags = variants.map((v) => String((v.properties as Record<string, AnySchema>)[key]?.const));
        return [
          {
            path: formatPath([...segments, key]),
            code: tag === undefined ? 'required' : 'enum',
            value: tag,
            message: `${tag === undefined ? 'is required:' : 'must be'} one of ${tags.join(', ')}${tag === undefined ? '' : ` (got ${preview(tag)})`}`,
          },
        ];
      }
      const literals = (schema.anyOf as TSchema[]).every((v) => kindOf(v) === 'Literal');
      return [
        {
          path,
          code: literals ? 'enum' : 'type',
          value: error.value,
          message: `must be ${describe(schema)} (got ${preview(error.value)})`,
        },
      ];
    }
    default:
      return [
        {
          path,
          code: CODES[error.type] ?? 'type',
          value: error.value,
          message: `must be ${describe(schema)} (got ${preview(error.value)})`,
        },
      ];
  }
}

function valueAt(root: unknown, segments: readonly (string | number)[]): unknown {
  let node = root;
  for (const s of segments) node = node !== null && typeof node === 'object' ? (node as never)[s] : undefined;
  return node;
}

/**
 * Every schema error in `value` (which sits at `prefix` inside `root`), one per field: the first error
 * TypeBox reports for a field wins, and its message describes everything the field must be.
 */
export function schemaErrors(
  schema: TSchema,
  root: unknown,
  prefix: readonly (string | number)[] = [],
): SpecError[] {
  const seen = new Set<string>();
  const out: SpecError[] = [];
  for (const error of Value.Errors(schema, valueAt(root, prefix))) {
    for (const e of convert(error, root, prefix)) {
      if (seen.has(e.path)) continue;
      seen.add(e.path);
      out.push(e);
    }
  }
  return out;
}

/** `spec.workers: must be an integer ≥ 1 (got 0)`, prefixed by `file:line:col` when known. */
export function formatError(e: SpecError): string {
  const where = [e.file, e.line, e.column].filter((x) => x !== undefined).join(':');
  const doc = e.document !== undefined && e.document > 0 ? `document ${e.document + 1}` : '';
  const field = e.path === '' && e.code === 'parse' ? '' : e.path || '(document)';
  return [where, doc, field, e.message].filter(Boolean).join(': ');
}

/** Thrown by the `assert*` helpers; carries every error. */
export class SpecValidationError extends Error {
  constructor(
    readonly errors: SpecError[],
    what = 'TrainingJob',
  ) {
    super(`invalid ${what}:\n${errors.map((e) => `  ${formatError(e)}`).join('\n')}`);
    this.name = 'SpecValidationError';
  }
}

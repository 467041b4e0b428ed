// Fills in schema defaults, as the apiserver does for a CRD: a missing field with a `default` gets a copy
// of it, then its own fields are defaulted in turn. Written here rather than using TypeBox's
// Value.Default, which merges a default into a value of the wrong kind (a list given where an object is
// expected becomes an object) and so hides the very errors validation must report.
import { Kind, type TSchema } from '@sinclair/typebox';

type Schema = TSchema & Record<string, unknown>;
const kindOf = (s: TSchema): string => (s as unknown as Record<symbol, string>)[Kind] ?? '';
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** `value` with defaults applied in place to its nested objects; the caller passes its own copy. */
export function applyDefaults(schema: TSchema, value: unknown): unknown {
  const s = schema as Schema;
  if (value === undefined && s.default !== undefined) value = structuredClone(s.default);
  switch (kindOf(schema)) {
    case 'Object': {
      if (!isPlainObject(value)) return value;
      for (const [key, propSchema] of Object.entries(s.properties as Record<string, TSchema>)) {
        const next = applyDefaults(propSchema, value[key]);
        if (next !== undefined) value[key] = next;
      }
      return value;
    }
    case 'Record': {
      if (!isPlainObject(value)) return value;
      const [valueSchema] = Object.values(s.patternProperties as Record<string, TSchema>);
      if (valueSchema)
        for (const key of Object.keys(value)) value[key] = applyDefaults(valueSchema, value[key]);
      return value;
    }
    case 'Array':
      return Array.isArray(value) ? value.map((item) => applyDefaults(s.items as TSchema, item)) : value;
    case 'Union': {
      // Object variants told apart by a literal `type` (sweep algorithms): default the matching one.
      if (!isPlainObject(value)) return value;
      const variant = (s.anyOf as Schema[]).find((v) => {
        const tag = (v.properties as Record<string, Schema> | undefined)?.type;
        return tag !== undefined && kindOf(tag) === 'Literal' && tag.const === value.type;
      });
      return variant ? applyDefaults(variant, value) : value;
    }
    default:
      return value;
  }
}

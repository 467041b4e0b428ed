// Building blocks for the spec schemas. Each keeps the JSON Schema plain enough to become a structural
// CRD schema: objects are closed, enums are string literals, maps are typed records.
import './formats.js';
import {
  type ObjectOptions,
  type SchemaOptions,
  type TLiteral,
  type TProperties,
  type TRecord,
  type TSchema,
  type TString,
  type TUnion,
  Type,
} from '@sinclair/typebox';
import { QUANTITY_PATTERN } from './quantity.js';

/**
 * Extra schema keys the specs use. `expected` is the plain-words expectation used in error messages where
 * the schema alone would read badly (a regex); the CRD generator drops it. `x-kubernetes-*` keys pass
 * through to the CRD.
 */
export interface KilnSchemaOptions extends SchemaOptions {
  expected?: string;
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
}

/** A CEL rule as the CRD carries it under `x-kubernetes-validations`. */
export interface CelRule {
  rule: string;
  message: string;
  /** JSONPath-like path, relative to the node carrying the rule, of the field to blame. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** An object that rejects unknown fields. */
export function Strict<T extends TProperties>(
  properties: T,
  options: ObjectOptions & KilnSchemaOptions = {},
) {
  return Type.Object(properties, { additionalProperties: false, ...options });
}

/** A string that must be one of `values`; becomes `{type: string, enum: [...]}` in the CRD. */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: KilnSchemaOptions = {},
): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as TUnion<TLiteral<T[number]>[]>;
}

/** A Kubernetes quantity: a non-negative integer or a string like 500m or 16Gi. */
export function Quantity(options: KilnSchemaOptions = {}) {
  return Type.Union(
    [Type.Integer({ minimum: 0 }), Type.String({ pattern: QUANTITY_PATTERN, maxLength: 64 })],
    {
      'x-kubernetes-int-or-string': true,
      expected: 'a Kubernetes quantity ≥ 0 such as 4, 500m or 16Gi',
      ...options,
    },
  );
}

/** Resource name → quantity, as in a container's limits/requests. */
export function ResourceList(options: KilnSchemaOptions = {}) {
  return Type.Record(Type.String(), Quantity(), { maxProperties: 64, ...options });
}

/** A free-form JSON object; the CRD keeps it whole (`x-kubernetes-preserve-unknown-fields`). */
export function FreeForm(options: KilnSchemaOptions = {}): TRecord<TString, TSchema> {
  return Type.Record(Type.String(), Type.Unknown(), {
    'x-kubernetes-preserve-unknown-fields': true,
    expected: 'an object (a map of names to JSON values)',
    ...options,
  }) as TRecord<TString, TSchema>;
}

/** string → string map (node selectors, labels). */
export function StringMap(options: KilnSchemaOptions = {}) {
  return Type.Record(Type.String(), Type.String({ maxLength: 1024 }), { maxProperties: 256, ...options });
}

/** A count or duration that is a whole number within bounds. */
export function Int(minimum: number, maximum: number | undefined, options: KilnSchemaOptions = {}) {
  return Type.Integer({ minimum, ...(maximum === undefined ? {} : { maximum }), ...options });
}

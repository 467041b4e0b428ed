// Builds the TrainingJob CustomResourceDefinition from the same TypeBox schema the validator uses. The
// openAPIV3Schema must be structural (every node typed, no $ref, anyOf only for int-or-string), so the
// walk below maps each TypeBox kind to its structural form and fails loudly on anything else.
import { Kind, type TSchema } from '@sinclair/typebox';
import { stringify } from 'yaml';
import {
  API_GROUP,
  API_VERSION,
  TRAININGJOB_CATEGORIES,
  TRAININGJOB_CRD_NAME,
  TRAININGJOB_KIND,
  TRAININGJOB_LIST_KIND,
  TRAININGJOB_PLURAL,
  TRAININGJOB_SHORT_NAMES,
  TRAININGJOB_SINGULAR,
} from './constants.js';
import { DNS_LABEL_MAX, DNS1035_LABEL_PATTERN } from './names.js';
import { TrainingJobSchema, TrainingJobSpecSchema, TrainingJobStatusSchema } from './trainingjob.js';

type Json = Record<string, unknown>;
type Schema = TSchema & Json;
const kindOf = (s: TSchema): string => (s as unknown as Record<symbol, string>)[Kind] ?? '';

/** Keys copied as they are when present. */
const PASS = [
  'description',
  'default',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
] as const;

function common(s: Schema, out: Json): Json {
  for (const key of PASS) if (s[key] !== undefined) out[key] = structuredClone(s[key]);
  // OpenAPI v3.0 spells an exclusive bound as a flag beside minimum/maximum.
  if (typeof s.exclusiveMinimum === 'number')
    Object.assign(out, { minimum: s.exclusiveMinimum, exclusiveMinimum: true });
  if (typeof s.exclusiveMaximum === 'number')
    Object.assign(out, { maximum: s.exclusiveMaximum, exclusiveMaximum: true });
  return out;
}

/** Key order in the generated YAML, so a reader finds type and description first. */
const ORDER = [
  'description',
  'type',
  'x-kubernetes-int-or-string',
  'anyOf',
  'enum',
  'format',
  'pattern',
  'default',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'required',
  'properties',
  'items',
  'additionalProperties',
  'x-kubernetes-validations',
];

function ordered(node: Json): Json {
  const rank = (k: string) => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
  return Object.fromEntries(Object.entries(node).sort(([a], [b]) => rank(a) - rank(b)));
}

/** The structural openAPIV3Schema node for a TypeBox schema. */
export function toStructural(schema: TSchema, at = '$'): Json {
  return ordered(structuralNode(schema, at));
}

function structuralNode(schema: TSchema, at: string): Json {
  const s = schema as Schema;
  switch (kindOf(schema)) {
    case 'Object': {
      const props = s.properties as Record<string, Schema>;
      const properties: Json = {};
      for (const [key, value] of Object.entries(props)) properties[key] = toStructural(value, `${at}.${key}`);
      // A defaulted field is filled in before validation, so it is never required of the writer.
      const required = ((s.required as string[] | undefined) ?? []).filter(
        (k) => props[k]?.default === undefined,
      );
      return common(s, { type: 'object', ...(required.length > 0 ? { required } : {}), properties });
    }
    case 'Record': {
      if (s['x-kubernetes-preserve-unknown-fields'] === true) {
        return common(s, { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
      }
      const [valueSchema] = Object.values(s.patternProperties as Record<string, TSchema>);
      if (!valueSchema) throw new Error(`${at}: record without a value schema`);
      return common(s, { type: 'object', additionalProperties: toStructural(valueSchema, `${at}.*`) });
    }
    case 'Array':
      // uniqueItems is not allowed in CRDs (quadratic to check); list-type `set` says the same.
      return common(s, { type: 'array', items: toStructural(s.items as TSchema, `${at}[]`) });
    case 'String':
      return common(s, { type: 'string' });
    case 'Integer':
      return common(s, { type: 'integer' });
    case 'Number':
      return common(s, { type: 'number' });
    case 'Boolean':
      return common(s, { type: 'boolean' });
    case 'Literal':
      return common(s, { type: typeof s.const, enum: [s.const] });
    case 'Union': {
      const variants = s.anyOf as Schema[];
      if (s['x-kubernetes-int-or-string'] === true) {
        const pattern = variants.find((v) => kindOf(v) === 'String')?.pattern;
        return common(s, {
          'x-kubernetes-int-or-string': true,
          anyOf: [{ type: 'integer' }, { type: 'string' }],
          ...(pattern === undefined ? {} : { pattern }),
        });
      }
      if (variants.every((v) => kindOf(v) === 'Literal' && typeof v.const === 'string')) {
        return common(s, { type: 'string', enum: variants.map((v) => v.const) });
      }
      throw new Error(
        `${at}: a union other than string enums and int-or-string cannot be a structural schema`,
      );
    }
    default:
      throw new Error(`${at}: no structural form for TypeBox kind ${kindOf(schema) || '(none)'}`);
  }
}

/** The TrainingJob CustomResourceDefinition as an object. */
export function trainingJobCrd(): Json {
  const root = TrainingJobSchema as unknown as Schema;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: TRAININGJOB_CRD_NAME, labels: { 'app.kubernetes.io/part-of': 'kiln' } },
    spec: {
      group: API_GROUP,
      names: {
        kind: TRAININGJOB_KIND,
        listKind: TRAININGJOB_LIST_KIND,
        plural: TRAININGJOB_PLURAL,
        singular: TRAININGJOB_SINGULAR,
        shortNames: [...TRAININGJOB_SHORT_NAMES],
        categories: [...TRAININGJOB_CATEGORIES],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            {
              name: 'Workers',
              type: 'integer',
              jsonPath: '.status.workers.running',
              description: 'Worker pods running',
            },
            {
              name: 'Progress',
              type: 'number',
              jsonPath: '.status.progress.percent',
              description: 'Percent of total steps done',
            },
            {
              name: 'ETA',
              type: 'integer',
              jsonPath: '.status.progress.etaSeconds',
              description: 'Seconds left, estimated',
            },
            {
              name: 'Restarts',
              type: 'integer',
              jsonPath: '.status.restarts',
              description: 'Whole-gang restarts so far',
            },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            {
              name: 'Reason',
              type: 'string',
              jsonPath: '.status.conditions[?(@.status=="True")].reason',
              description: 'Why the job is in its phase (e.g. ProvisioningCapacity: waiting for nodes)',
            },
            {
              name: 'Since',
              type: 'date',
              jsonPath: '.status.conditions[?(@.status=="True")].lastTransitionTime',
              description: 'How long the job has been in its phase for that reason',
            },
            { name: 'Desired', type: 'integer', jsonPath: '.spec.workers', priority: 1 },
            { name: 'Step', type: 'integer', jsonPath: '.status.progress.step', priority: 1 },
            { name: 'Run', type: 'string', jsonPath: '.status.runId', priority: 1 },
          ],
          schema: {
            openAPIV3Schema: {
              description: 'A distributed training run: a gang of worker pods running the Kiln Trainer.',
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string', description: 'kiln.dev/v1alpha1' },
                kind: { type: 'string', description: 'TrainingJob' },
                // The apiserver owns metadata; a CRD may only restrict name (and generateName).
                metadata: {
                  type: 'object',
                  properties: {
                    name: {
                      type: 'string',
                      maxLength: DNS_LABEL_MAX,
                      pattern: DNS1035_LABEL_PATTERN,
                      description:
                        'A DNS-1035 label: it names the headless Service and, with a suffix, every pod.',
                    },
                  },
                },
                spec: toStructural(TrainingJobSpecSchema, '$.spec'),
                status: toStructural(TrainingJobStatusSchema, '$.status'),
              },
              'x-kubernetes-validations': structuredClone(root['x-kubernetes-validations']),
            },
          },
        },
      ],
    },
  };
}

export const CRD_HEADER =
  '# Generated by `npm run generate -w @kiln/spec` from libs/spec/src/trainingjob.ts. Do not edit.\n';

/** The text of crds/trainingjob.yaml. */
export function trainingJobCrdYaml(): string {
  return CRD_HEADER + stringify(trainingJobCrd(), { lineWidth: 0, aliasDuplicateObjects: false });
}

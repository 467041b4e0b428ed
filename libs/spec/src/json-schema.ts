// The specs as JSON Schema for everything outside Kubernetes (the API's OpenAPI document, editors).
// The TypeBox schemas already are JSON Schema; this strips Kiln's own keys and lets defaulted fields be
// left out, since a writer may omit them.
import { Kind, type TSchema } from '@sinclair/typebox';
import { SweepSchema } from './sweep.js';
import { TrainingJobSchema } from './trainingjob.js';

type Json = Record<string, unknown>;
const DROP = new Set(['expected']);

/** A plain JSON copy of a TypeBox schema for writers of documents: no symbols, no Kiln-only keys. */
export function toJsonSchema(schema: TSchema): Json {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const src = node as Json;
    const out: Json = {};
    for (const [key, value] of Object.entries(src)) {
      if (DROP.has(key) || value === undefined) continue;
      out[key] =
        key === 'default' || key === 'const' || key === 'enum' ? structuredClone(value) : walk(value);
    }
    const props = src.properties as Record<string, Json> | undefined;
    if (Array.isArray(src.required) && props) {
      const required = (src.required as string[]).filter((k) => props[k]?.default === undefined);
      if (required.length > 0) out.required = required;
      else delete out.required;
    }
    return out;
  };
  const out = walk(schema) as Json;
  // TypeBox marks its own kinds with symbols; a JSON copy must not depend on them.
  delete (out as Record<symbol, unknown>)[Kind];
  return out;
}

export const trainingJobJsonSchema = (): Json => ({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'TrainingJob',
  ...toJsonSchema(TrainingJobSchema),
});

export const sweepJsonSchema = (): Json => ({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Sweep',
  ...toJsonSchema(SweepSchema),
});

// A Sweep document from YAML or JSON text, checked in the browser exactly as the API checks it
// (@kiln/spec's validateSweep, the project's namespace), errors named by field with line and column.
import { API_GROUP_VERSION, parseDocuments, parseSweep, SWEEP_KIND } from '@kiln/spec';

export interface SweepFieldError {
  /** The field as the API names it without its `body.` prefix, e.g. `spec.parallelism`; '' = document. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export type CheckedSweep =
  | { ok: true; document: Record<string, unknown>; name: string }
  | { ok: false; errors: SweepFieldError[] };

/** The API fills in apiVersion and kind when they are left out, so they are not required here either. */
const filledByApi = (e: { path: string; code: string }) =>
  e.code === 'required' && (e.path === 'apiVersion' || e.path === 'kind');

export function checkSweepText(text: string, namespace: string): CheckedSweep {
  const docs = parseDocuments(text);
  if (!docs.ok)
    return {
      ok: false,
      errors: docs.errors.map(({ path, message, line, column }) => ({ path, message, line, column })),
    };
  if (docs.documents.length !== 1)
    return {
      ok: false,
      errors: [{ path: '', message: `expected one Sweep document, found ${docs.documents.length}` }],
    };
  const value = docs.documents[0]!.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { ok: false, errors: [{ path: '', message: 'expected a Sweep document (a mapping)' }] };
  const doc = value as Record<string, unknown>;
  const errors: SweepFieldError[] = [];
  const ns = (doc.metadata as { namespace?: unknown } | undefined)?.namespace;
  if (ns !== undefined && ns !== namespace)
    errors.push({
      path: 'metadata.namespace',
      message: `must be the project's namespace ${namespace} (or left out)`,
    });
  const v = parseSweep(text);
  if (!v.ok)
    for (const e of v.errors)
      if (!filledByApi(e)) errors.push({ path: e.path, message: e.message, line: e.line, column: e.column });
  if (errors.length) return { ok: false, errors };
  const filled = { apiVersion: API_GROUP_VERSION, kind: SWEEP_KIND, ...doc };
  return { ok: true, document: filled, name: String((doc.metadata as { name: unknown }).name) };
}

/** The API's 400 errors (`body.spec.x`) in the same form. */
export function apiSweepErrors(errors: { path: string; message: string }[]): SweepFieldError[] {
  return errors.map((e) => ({ path: e.path.replace(/^body\.?/, ''), message: e.message }));
}

export const SWEEP_TEMPLATE = `apiVersion: ${API_GROUP_VERSION}
kind: ${SWEEP_KIND}
metadata:
  name: my-sweep
spec:
  objective: {metric: val/loss, goal: minimize}
  algorithm: {type: random, seed: 1}
  parameters:
    lr: {type: loguniform, min: 0.0001, max: 0.1}
    hidden: {type: int, min: 32, max: 256, step: 32}
  maxTrials: 12
  parallelism: 3
  trialTemplate:
    image: registry.example/kiln-trainer:0.1
    command: [kiln, fit, train.ts]
`;

// Reads TrainingJob and Sweep manifests from YAML or JSON text (the `yaml` package: YAML 1.2, of which
// JSON is a subset, with source positions). Syntax errors and validation errors alike carry the file,
// line and column, so the CLI can print `job.yaml:12:12: spec.workers: must be an integer ≥ 1`.
import { type ParseError, parse as parseJson, printParseErrorCode } from 'jsonc-parser';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import type { SpecError, ValidationResult } from './errors.js';
import type { Sweep } from './sweep.js';
import type { TrainingJob } from './trainingjob.js';
import { validateSweep, validateTrainingJob } from './validate.js';

interface SourceDocument {
  value: unknown;
  /** Where a field path (as segments) sits in the text: 1-based line and column. */
  locate(segments: (string | number)[]): { line: number; column: number } | undefined;
}

/** Splits `text` into its YAML/JSON documents, skipping empty ones; syntax errors name line and column. */
export function parseDocuments(
  text: string,
  filename?: string,
): { ok: true; documents: SourceDocument[] } | { ok: false; errors: SpecError[] } {
  const file = filename === undefined ? {} : { file: filename };
  const jsonError = looksLikeJson(text, filename) ? jsonSyntaxError(text) : undefined;
  if (jsonError)
    return { ok: false, errors: [{ path: '', code: 'parse', ...file, ...jsonError, document: 0 }] };
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const errors: SpecError[] = [];
  const documents: SourceDocument[] = [];
  if (!Array.isArray(docs)) {
    // An empty stream: parseAllDocuments returns an EmptyStream object.
    return { ok: false, errors: [{ path: '', code: 'parse', message: 'contains no document', ...file }] };
  }
  docs.forEach((doc, index) => {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
      const firstLine = e.message.split('\n')[0] ?? e.message;
      errors.push({
        path: '',
        code: 'parse',
        message: `invalid ${filename?.endsWith('.json') ? 'JSON' : 'YAML'}: ${firstLine.replace(/ at line \d+, column \d+:?$/, '')}`,
        ...file,
        line: pos.line,
        column: pos.col,
        document: index,
      });
    }
    if (doc.errors.length > 0 || doc.contents === null) return;
    if (isScalar(doc.contents) && doc.contents.value === null) return; // only comments, or `---` alone
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // The yaml package refuses alias expansions past maxAliasCount ("billion laughs").
      const pos = lineCounter.linePos(doc.contents.range?.[0] ?? 0);
      const message = `invalid YAML: ${(e as Error).message}`;
      errors.push({
        path: '',
        code: 'parse',
        message,
        ...file,
        line: pos.line,
        column: pos.col,
        document: index,
      });
      return;
    }
    documents.push({
      value,
      locate(segments) {
        const offset = offsetOf(doc.contents, segments);
        if (offset === undefined) return undefined;
        const { line, col } = lineCounter.linePos(offset);
        return { line, column: col };
      },
    });
  });
  if (errors.length > 0) return { ok: false, errors };
  if (documents.length === 0) {
    return { ok: false, errors: [{ path: '', code: 'parse', message: 'contains no document', ...file }] };
  }
  return { ok: true, documents };
}

function looksLikeJson(text: string, filename?: string): boolean {
  return filename?.toLowerCase().endsWith('.json') === true || /^\s*[{[]/.test(text);
}

/**
 * JSON's own syntax error for JSON text (YAML's reading of broken JSON is confusing), from jsonc-parser,
 * which reports the offset of the first error. Valid JSON then goes through the YAML parser, which keeps
 * source positions for validation errors.
 */
function jsonSyntaxError(text: string): { message: string; line: number; column: number } | undefined {
  const errors: ParseError[] = [];
  parseJson(text, errors, { allowTrailingComma: false, disallowComments: true, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return undefined;
  const before = text.slice(0, first.offset).split('\n');
  const words = printParseErrorCode(first.error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
  return { message: `invalid JSON: ${words}`, line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

/** Offset of the deepest node along `segments`: a map entry's key, a list item, or the nearest ancestor. */
function offsetOf(root: Node | null, segments: (string | number)[]): number | undefined {
  let node: unknown = root;
  let offset = (root as Node | null)?.range?.[0];
  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      offset = isScalar(pair.key) ? pair.key.range?.[0] : offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset;
}

/** Segments of a formatted path (`spec.env[2].name`, `a["b.c"]`) for locating it in the source. */
function pathSegments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(JSON.parse(m[3]) as string);
  }
  return out;
}

function parseWith<T>(
  validate: (value: unknown) => ValidationResult<T>,
  text: string,
  filename?: string,
): ValidationResult<T[]> {
  const parsed = parseDocuments(text, filename);
  if (!parsed.ok) return parsed;
  const values: T[] = [];
  const errors: SpecError[] = [];
  parsed.documents.forEach((doc, index) => {
    const result = validate(doc.value);
    if (result.ok) {
      values.push(result.value);
      return;
    }
    for (const e of result.errors) {
      const pos = doc.locate(pathSegments(e.path));
      errors.push({
        ...e,
        ...(filename === undefined ? {} : { file: filename }),
        ...(pos ?? {}),
        ...(parsed.documents.length > 1 ? { document: index } : {}),
      });
    }
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: values };
}

/**
 * Parses and validates every TrainingJob in a YAML (multi-document) or JSON text. Errors carry the
 * field path, the line and column in the text, and for multi-document YAML the document index.
 */
export function parseTrainingJob(text: string, filename?: string): ValidationResult<TrainingJob[]> {
  return parseWith(validateTrainingJob, text, filename);
}

/** Parses and validates every Sweep in a YAML or JSON text. */
export function parseSweep(text: string, filename?: string): ValidationResult<Sweep[]> {
  return parseWith(validateSweep, text, filename);
}

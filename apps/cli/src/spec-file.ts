// Reads a YAML or JSON file of Kiln documents and validates it with @kiln/spec, so `kiln submit` and
// `kiln sweep create` report a bad file the same way: each error with file, line, column and field.
import { readFileSync } from 'node:fs';
import type { ValidationResult } from '@kiln/spec';
import { UsageError } from './errors.js';

export function readSpecFile<T>(
  file: string,
  parse: (text: string, filename?: string) => ValidationResult<T[]>,
  kind: string,
): T[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`--file ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const parsed = parse(text, file);
  if (!parsed.ok) {
    const lines = parsed.errors.map(
      (e) =>
        `  ${e.file ?? file}${e.line ? `:${e.line}:${e.column ?? 1}` : ''}: ${e.path || '(document)'}: ${e.message}`,
    );
    throw new UsageError(`--file ${file} is not a valid ${kind}:\n${lines.join('\n')}`);
  }
  if (parsed.value.length === 0) throw new UsageError(`--file ${file}: holds no ${kind}`);
  return parsed.value;
}

// How commands print: a table for people, or the objects as JSON or YAML for scripts (`--output`).
import { type Command, Option } from 'commander';
import { stringify } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';

export function addOutputOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('-o, --output <format>', 'table, json or yaml')
      .choices(['table', 'json', 'yaml'])
      .default('table'),
  );
}

/** Renders `items` as the format asks; `table` uses the given columns (header → cell). */
export function render<T>(
  format: OutputFormat,
  items: T | T[],
  columns: [string, (item: T) => string][],
): string {
  if (format === 'json') return `${JSON.stringify(items, null, 2)}\n`;
  if (format === 'yaml') return stringify(items);
  const rows = (Array.isArray(items) ? items : [items]).map((it) => columns.map(([, cell]) => cell(it)));
  return table(
    columns.map(([h]) => h),
    rows,
  );
}

/** Left-aligned columns separated by three spaces, as kubectl prints them. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** kubectl's age format: 45s, 12m, 3h, 5d. */
export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

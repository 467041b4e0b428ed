import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Appender, flushOnExit } from './appender.js';
import { FileLogger, type FileLoggerOptions } from './file-logger.js';
import type { RunStatus } from './logger.js';
import { checkMetrics, plainHparams } from './values.js';

export interface CSVLoggerOptions extends FileLoggerOptions {
  /** Write buffered rows to disk every this many rows (Lightning's `flush_logs_every_n_steps`). Default 100. */
  flushEveryNRows?: number;
  /** …or when a row arrives this long after the last write. Default 5000 ms. */
  flushIntervalMs?: number;
}

/**
 * `metrics.csv` in the run folder, one row per step and one column per metric, as a spreadsheet or
 * `pandas.read_csv` expects (Lightning's layout). Calls for the same step merge into one row. When a new
 * metric appears the file is rewritten with the wider header (old rows padded with empty cells) through
 * a temp file and a rename, so a crash never leaves a half-written file. NaN and ±Infinity are written
 * `nan`, `inf`, `-inf`, which pandas, numpy and Python's float() read back as numbers.
 */
export class CSVLogger extends FileLogger {
  readonly name = 'csv';
  private columns: string[] = [];
  /** Whether metrics.csv exists with a header, and how many of `columns` that header has. */
  private headerOnDisk = false;
  private writtenColumns = 0;
  private rows: Array<{ step: number; values: Map<string, number> }> = [];
  private lastFlush = Date.now();
  private out: Appender | undefined;
  private unregisterExit: (() => void) | undefined;
  private readonly flushEveryNRows: number;
  private readonly flushIntervalMs: number;

  constructor(opts: CSVLoggerOptions = {}) {
    super(opts);
    this.flushEveryNRows = positiveInt('flushEveryNRows', opts.flushEveryNRows ?? 100);
    this.flushIntervalMs = positiveInt('flushIntervalMs', opts.flushIntervalMs ?? 5000);
  }

  get metricsPath(): string | undefined {
    const dir = this.logDir;
    return dir && join(dir, 'metrics.csv');
  }

  logMetrics(metrics: Record<string, number>, step: number): void {
    checkMetrics(this.name, metrics, step);
    if ('step' in metrics)
      throw new TypeError(`${this.name}.logMetrics: 'step' is the row key, not a metric name`);
    for (const key of Object.keys(metrics)) {
      if (/[\r\n]/.test(key))
        throw new TypeError(`${this.name}.logMetrics: metric name ${JSON.stringify(key)} holds a line break`);
    }
    if (!this.isWriter) return;
    // rows wait in memory between flushes: write them if the process exits without finalize
    this.unregisterExit ??= flushOnExit(() => this.flush(this.rows.length));
    const last = this.rows.at(-1);
    const entries = Object.entries(metrics);
    const merge = last && last.step === step && entries.every(([k]) => !last.values.has(k));
    const row = merge ? last : { step, values: new Map<string, number>() };
    for (const [key, value] of entries) {
      if (!this.columns.includes(key)) this.columns.push(key);
      row.values.set(key, value);
    }
    if (!merge) this.rows.push(row);
    if (this.rows.length > this.flushEveryNRows || Date.now() - this.lastFlush >= this.flushIntervalMs) {
      // keep the newest row back: the next call may still add to the same step
      this.flush(this.rows.length - 1);
    }
  }

  logHyperparams(params: Record<string, unknown>): void {
    const plain = plainHparams(params);
    if (this.isWriter) this.writeHparamsYaml(plain);
  }

  async finalize(_status: RunStatus): Promise<void> {
    if (!this.isWriter) return;
    this.flush(this.rows.length);
    this.out?.close();
    this.out = undefined;
    this.unregisterExit?.();
    this.unregisterExit = undefined;
  }

  /** Writes the first `count` buffered rows. */
  private flush(count: number): void {
    this.lastFlush = Date.now();
    const path = this.metricsPath;
    if (!path || count <= 0) return;
    if (!this.headerOnDisk && existsSync(path)) this.adoptExisting(path);
    const rows = this.rows.splice(0, count);
    const body = rows.map((r) => this.formatRow(r.step, r.values)).join('');
    if (this.headerOnDisk && this.writtenColumns === this.columns.length) {
      this.out ??= new Appender(path, { maxBufferBytes: 0 });
      this.out.write(body);
      return;
    }
    this.out?.close({ sync: false }); // the file is about to be replaced
    // The header grew: rewrite the whole file, padding old rows with empty cells for the new columns.
    const pad = ','.repeat(this.columns.length - this.writtenColumns);
    const old = !this.headerOnDisk
      ? ''
      : readFileSync(path, 'utf8')
          .split('\n')
          .slice(1)
          .filter((l) => l !== '')
          .map((l) => `${l}${pad}\n`)
          .join('');
    const header = `${['step', ...this.columns].map(csvField).join(',')}\n`;
    writeFileSync(`${path}.tmp`, header + old + body);
    renameSync(`${path}.tmp`, path);
    this.out = undefined;
    this.headerOnDisk = true;
    this.writtenColumns = this.columns.length;
  }

  /** A run resumed into an existing folder appends to its metrics.csv, keeping its columns. */
  private adoptExisting(path: string): void {
    const header = readFileSync(path, 'utf8').split('\n', 1)[0] ?? '';
    if (header === '') return;
    const existing = parseCsvLine(header);
    if (existing[0] !== 'step') throw new Error(`${path} is not a metrics file written by CSVLogger`);
    const cols = existing.slice(1);
    this.columns = [...cols, ...this.columns.filter((c) => !cols.includes(c))];
    this.headerOnDisk = true;
    this.writtenColumns = cols.length;
  }

  private formatRow(step: number, values: Map<string, number>): string {
    const cells = [String(step)];
    for (const col of this.columns) {
      const v = values.get(col);
      cells.push(v === undefined ? '' : csvNumber(v));
    }
    return `${cells.join(',')}\n`;
  }
}

function csvNumber(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Number.POSITIVE_INFINITY) return 'inf';
  if (v === Number.NEGATIVE_INFINITY) return '-inf';
  return String(v);
}

/** RFC 4180 quoting for metric names that hold commas, quotes or line breaks. */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Splits one CSV line written by csvField (quoted fields may hold commas and doubled quotes). */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let field = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else field += line[i++];
      }
      out.push(field);
      i++; // the comma
    } else {
      const end = line.indexOf(',', i);
      const stop = end === -1 ? line.length : end;
      out.push(line.slice(i, stop));
      i = stop + 1;
    }
  }
  return out;
}

function positiveInt(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(`CSVLogger option ${field}: expected a positive integer, got ${String(value)}`);
  }
  return value;
}

import { join } from 'node:path';
import { Appender } from './appender.js';
import { FileLogger, type FileLoggerOptions } from './file-logger.js';
import type { CheckpointInfo, RunStatus } from './logger.js';
import { checkMetrics, jsonNumber, type PlainValue, plainHparams } from './values.js';

export interface JSONLinesLoggerOptions extends FileLoggerOptions {
  /** Write to disk when a record arrives this long after the last write. Default 1000 ms. */
  flushIntervalMs?: number;
}

/** One line of `metrics.jsonl`. `time` is Unix seconds with milliseconds. */
export type JSONLinesRecord =
  | { type: 'hparams'; time: number; params: Record<string, PlainValue> }
  | { type: 'metrics'; time: number; step: number; metrics: Record<string, number | string> }
  | { type: 'checkpoint'; time: number; checkpoint: CheckpointInfo }
  | { type: 'end'; time: number; status: RunStatus };

/**
 * `metrics.jsonl` in the run folder: one JSON object per line, tagged by `type`, easy to stream
 * (`pandas.read_json(path, lines=True)`, `jq`). NaN and ±Infinity are written as the strings "NaN",
 * "Infinity" and "-Infinity" (the protobuf JSON convention): JSON has no literal for them.
 */
export class JSONLinesLogger extends FileLogger {
  readonly name = 'jsonl';
  private out: Appender | undefined;

  constructor(private readonly jsonlOpts: JSONLinesLoggerOptions = {}) {
    super(jsonlOpts);
    const ms = jsonlOpts.flushIntervalMs;
    if (ms !== undefined && (!Number.isFinite(ms) || ms < 0)) {
      throw new TypeError(`JSONLinesLogger option flushIntervalMs: expected a number ≥ 0, got ${String(ms)}`);
    }
  }

  get metricsPath(): string | undefined {
    const dir = this.logDir;
    return dir && join(dir, 'metrics.jsonl');
  }

  logMetrics(metrics: Record<string, number>, step: number): void {
    checkMetrics(this.name, metrics, step);
    const values: Record<string, number | string> = {};
    for (const [k, v] of Object.entries(metrics)) values[k] = jsonNumber(v);
    this.append({ type: 'metrics', time: now(), step, metrics: values });
  }

  logHyperparams(params: Record<string, unknown>): void {
    const plain = plainHparams(params);
    this.append({ type: 'hparams', time: now(), params: plain });
    if (this.isWriter) this.writeHparamsYaml(plain);
  }

  logCheckpoint(info: CheckpointInfo): void {
    const metrics: Record<string, number | string> = {};
    for (const [k, v] of Object.entries(info.metrics)) metrics[k] = jsonNumber(v);
    this.append({ type: 'checkpoint', time: now(), checkpoint: { ...info, metrics } as CheckpointInfo });
  }

  async finalize(status: RunStatus): Promise<void> {
    this.append({ type: 'end', time: now(), status });
    this.out?.close();
    this.out = undefined;
  }

  private append(record: JSONLinesRecord): void {
    if (!this.isWriter) return;
    this.out ??= new Appender(this.metricsPath!, { maxDelayMs: this.jsonlOpts.flushIntervalMs ?? 1000 });
    // hyperparameters may hold NaN too: write them the same way as metrics
    this.out.write(`${JSON.stringify(record, (_k, v) => (typeof v === 'number' ? jsonNumber(v) : v))}\n`);
  }
}

function now(): number {
  return Date.now() / 1000;
}

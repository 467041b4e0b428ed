import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Appender } from '../appender.js';
import { FileLogger, type FileLoggerOptions } from '../file-logger.js';
import type { RunStatus } from '../logger.js';
import { checkMetrics, flattenHparams, type PlainValue, plainHparams } from '../values.js';
import {
  DT_FLOAT,
  DT_STRING,
  decodeEvent,
  encodeEvent,
  FILE_VERSION,
  type SummaryValue,
  type TfEvent,
} from './events.js';
import {
  PLUGIN_NAME,
  SESSION_END_TAG,
  SESSION_START_TAG,
  SessionStatus,
  sessionEndInfo,
  sessionStartInfo,
} from './hparams.js';
import { frameRecord, readRecords } from './tfrecord.js';

export interface TensorBoardLoggerOptions extends FileLoggerOptions {
  /** Write buffered events to disk when one arrives this long after the last write. Default 2000 ms. */
  flushIntervalMs?: number;
}

const utf8 = new TextEncoder();

/**
 * TensorFlow event files (`events.out.tfevents.<unix seconds>.<host>.<pid>`) that TensorBoard reads:
 * each metric a scalar summary (`simple_value`, float32, so values are rounded to float32 and finite
 * numbers beyond its range become ±Infinity; NaN and ±Infinity are kept as such, and TensorBoard shows
 * them). Hyperparameters go to the hparams plugin (session start/end info, so the HPARAMS tab lists
 * the run with its metrics), to a markdown table in the TEXT tab, and to `hparams.yaml`.
 */
export class TensorBoardLogger extends FileLogger {
  readonly name = 'tensorboard';
  private out: Appender | undefined;
  private path: string | undefined;
  private loggedHparams = false;

  constructor(private readonly tbOpts: TensorBoardLoggerOptions = {}) {
    super(tbOpts);
    const ms = tbOpts.flushIntervalMs;
    if (ms !== undefined && (!Number.isFinite(ms) || ms < 0)) {
      throw new TypeError(
        `TensorBoardLogger option flushIntervalMs: expected a number ≥ 0, got ${String(ms)}`,
      );
    }
  }

  /** The event file, created on the first write; undefined on ranks that do not write. */
  get eventFilePath(): string | undefined {
    return this.writer()?.path;
  }

  logMetrics(metrics: Record<string, number>, step: number): void {
    checkMetrics(this.name, metrics, step);
    const values = Object.entries(metrics).map(([tag, v]) => ({ tag, simpleValue: v }));
    if (values.length > 0) this.write({ wallTime: now(), step, values });
  }

  logHyperparams(params: Record<string, unknown>): void {
    const plain = plainHparams(params);
    if (!this.writer()) return;
    const flat = flattenHparams(plain);
    const time = now();
    this.write({
      wallTime: time,
      step: 0,
      values: [
        {
          tag: SESSION_START_TAG,
          pluginName: PLUGIN_NAME,
          pluginContent: sessionStartInfo(flat, time),
          tensor: nullTensor(),
        },
        {
          tag: 'hparams/text_summary',
          pluginName: 'text',
          tensor: {
            dtype: DT_STRING,
            shape: [1],
            floatVal: [],
            stringVal: [utf8.encode(markdownTable(flat))],
          },
        },
      ],
    });
    this.loggedHparams = true;
    this.writeHparamsYaml(plain);
  }

  async finalize(status: RunStatus): Promise<void> {
    if (this.loggedHparams && this.writer()) {
      const code = status === 'success' ? SessionStatus.Success : SessionStatus.Failure;
      this.write({
        wallTime: now(),
        step: 0,
        values: [
          {
            tag: SESSION_END_TAG,
            pluginName: PLUGIN_NAME,
            pluginContent: sessionEndInfo(code, now()),
            tensor: nullTensor(),
          },
        ],
      });
    }
    this.loggedHparams = false;
    this.out?.close();
    this.out = undefined;
  }

  private write(event: TfEvent): void {
    this.writer()?.write(frameRecord(encodeEvent(event)));
  }

  private writer(): Appender | undefined {
    if (this.out) return this.out;
    const dir = this.logDir;
    if (!dir) return undefined;
    const start = now();
    const reopening = this.path !== undefined;
    this.path ??= join(dir, `events.out.tfevents.${Math.floor(start)}.${hostname()}.${process.pid}`);
    this.out = new Appender(this.path, { maxDelayMs: this.tbOpts.flushIntervalMs ?? 2000 });
    // every event file opens with its format version; after a finalize the same file is appended to
    if (!reopening)
      this.out.write(frameRecord(encodeEvent({ wallTime: start, step: 0, fileVersion: FILE_VERSION })));
    return this.out;
  }
}

/** What TensorBoard's own hparams summaries carry as their tensor (its NULL_TENSOR): an empty float vector. */
function nullTensor(): SummaryValue['tensor'] {
  return { dtype: DT_FLOAT, shape: [0], floatVal: [], stringVal: [] };
}

function markdownTable(flat: Record<string, PlainValue>): string {
  const esc = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const rows = Object.entries(flat).map(
    ([k, v]) =>
      `|${esc(k)}|${esc(typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v))}|`,
  );
  return ['|name|value|', '|-|-|', ...rows].join('\n');
}

function now(): number {
  return Date.now() / 1000;
}

/** Every event in an event file, CRCs checked (a tail cut off mid-record by a live writer is ignored). */
export function readEventFile(path: string): TfEvent[] {
  return readRecords(readFileSync(path), { allowTruncatedTail: true }).map(decodeEvent);
}

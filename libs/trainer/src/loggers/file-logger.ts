import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV } from '@kiln/spec';
import { stringify } from 'yaml';
import type { Logger, LoggerContext, RunStatus } from './logger.js';
import { claimRunDir, sharedRunDir } from './run-dir.js';
import type { PlainValue } from './values.js';

export interface FileLoggerOptions {
  /** Parent of the run folders; defaults to the Trainer's `defaultRootDir`, else the working directory. */
  saveDir?: string;
  /** Experiment name: runs go to `<saveDir>/<name>/version_<n>` (`''`: `<saveDir>/version_<n>`). Default `default`. */
  name?: string;
  /** A fixed version: a number (`version_<n>`) or a folder name; default: the next free number. */
  version?: number | string;
}

/**
 * What the file loggers share: the versioned run folder, created on first write and only on rank 0.
 * Rank comes from the Trainer's context, else from the `RANK` variable the launcher sets. `finalize`
 * flushes and closes files; a later call (a `test` after `fit`) reopens them and appends.
 */
export abstract class FileLogger implements Logger {
  abstract readonly name: string;
  protected ctx: LoggerContext | undefined;
  private dir: string | undefined;

  constructor(protected readonly opts: FileLoggerOptions = {}) {
    if (opts.name !== undefined && (typeof opts.name !== 'string' || /[/\\]/.test(opts.name))) {
      throw new TypeError(
        `logger option name: expected a folder name without slashes, got ${JSON.stringify(opts.name)}`,
      );
    }
    if (opts.saveDir !== undefined && (typeof opts.saveDir !== 'string' || opts.saveDir === '')) {
      throw new TypeError(`logger option saveDir: expected a path, got ${JSON.stringify(opts.saveDir)}`);
    }
  }

  setup(ctx: LoggerContext): void {
    this.ctx = ctx;
  }

  /** True where this process writes: rank 0. */
  get isWriter(): boolean {
    if (this.ctx) return this.ctx.isGlobalZero;
    return Number(process.env[ENV.rank] ?? '0') === 0;
  }

  get logDir(): string | undefined {
    if (!this.isWriter) return undefined;
    if (this.dir === undefined) {
      const root = this.opts.saveDir ?? this.ctx?.defaultRootDir ?? process.cwd();
      const name = this.opts.name ?? 'default';
      this.dir =
        this.opts.version !== undefined
          ? claimRunDir(root, name, this.opts.version)
          : sharedRunDir(this.ctx, root, name);
    }
    return this.dir;
  }

  abstract logMetrics(metrics: Record<string, number>, step: number): void;
  abstract logHyperparams(params: Record<string, unknown>): void;
  abstract finalize(status: RunStatus): Promise<void>;

  /** `hparams.yaml` beside the logs, as Lightning writes it; replaced atomically. */
  protected writeHparamsYaml(params: Record<string, PlainValue>): void {
    const dir = this.logDir;
    if (!dir) return;
    const path = join(dir, 'hparams.yaml');
    writeFileSync(`${path}.tmp`, stringify(params));
    renameSync(`${path}.tmp`, path);
  }
}

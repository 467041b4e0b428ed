import { link, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaultCheckpointDir } from '@kiln/spec';
import type { Module } from '../core/module.js';
import type { Trainer } from '../trainer/trainer.js';
import { Callback } from './callback.js';

export interface ModelCheckpointOptions {
  /** default: $KILN_CHECKPOINT_DIR, else <defaultRootDir>/checkpoints */
  dirpath?: string;
  /** template without extension, e.g. '{epoch}-{val/loss:.3f}' (default '{epoch}-{step}') */
  filename?: string;
  /** metric ranking the checkpoints; without one the latest `saveTopK` are kept */
  monitor?: string;
  mode?: 'min' | 'max';
  /** how many ranked checkpoints to keep: -1 all, 0 none (default 1) */
  saveTopK?: number;
  /** also keep `last.ckpt`, the newest state, for resuming (default true) */
  saveLast?: boolean;
  everyNTrainSteps?: number;
  /** default 1 when no step or time interval is given */
  everyNEpochs?: number;
  /** seconds between saves, checked after each training batch */
  trainTimeInterval?: number;
  /** `{epoch}` → `epoch=3` (default true) */
  autoInsertMetricName?: boolean;
  /**
   * save at the end of each training epoch (true) or after each validation run (false); default: at epoch
   * end when fit validates once per epoch at its end, or not at all (Lightning's `save_on_train_epoch_end`)
   */
  saveOnTrainEpochEnd?: boolean;
}

const KNOWN = new Set([
  'dirpath',
  'filename',
  'monitor',
  'mode',
  'saveTopK',
  'saveLast',
  'everyNTrainSteps',
  'everyNEpochs',
  'trainTimeInterval',
  'autoInsertMetricName',
  'saveOnTrainEpochEnd',
]);

/**
 * Saves checkpoints on a schedule (epochs, steps or wall time), keeps the best `saveTopK` by a monitored
 * metric, and maintains `last.ckpt`. A top-k file that is also the newest becomes `last.ckpt` through a
 * hard link + rename, so the bytes are written once.
 */
export class ModelCheckpoint extends Callback {
  dirpath: string | undefined;
  readonly filename: string;
  readonly monitor: string | undefined;
  readonly mode: 'min' | 'max';
  readonly saveTopK: number;
  readonly saveLast: boolean;
  readonly everyNTrainSteps: number;
  readonly everyNEpochs: number;
  readonly trainTimeInterval: number | undefined;
  readonly autoInsertMetricName: boolean;
  bestModelPath = '';
  bestModelScore: number | null = null;
  /** path → score of the checkpoints kept (score is the step for unmonitored ones) */
  bestKModels: Record<string, number> = {};
  lastModelPath = '';
  readonly saveOnTrainEpochEnd: boolean | undefined;
  private lastSavedStep = -1;
  private lastTimeSave = performance.now();

  constructor(opts: ModelCheckpointOptions = {}) {
    super();
    for (const k of Object.keys(opts)) {
      if (!KNOWN.has(k))
        throw new Error(`unknown ModelCheckpoint option "${k}" (known: ${[...KNOWN].join(', ')})`);
    }
    this.dirpath = opts.dirpath === undefined ? undefined : resolve(opts.dirpath);
    this.filename =
      opts.filename ?? (opts.monitor ? `{epoch}-{step}-{${opts.monitor}:.4f}` : '{epoch}-{step}');
    this.monitor = opts.monitor;
    this.mode = opts.mode ?? 'min';
    if (this.mode !== 'min' && this.mode !== 'max')
      throw new Error(`ModelCheckpoint mode must be 'min' or 'max', got ${JSON.stringify(opts.mode)}`);
    this.saveTopK = opts.saveTopK ?? 1;
    if (!Number.isInteger(this.saveTopK) || this.saveTopK < -1) {
      throw new Error(
        `ModelCheckpoint saveTopK must be an integer >= -1, got ${JSON.stringify(opts.saveTopK)}`,
      );
    }
    this.saveLast = opts.saveLast ?? true;
    this.everyNTrainSteps = nonNegInt('everyNTrainSteps', opts.everyNTrainSteps ?? 0);
    this.trainTimeInterval = opts.trainTimeInterval;
    if (this.trainTimeInterval !== undefined && !(this.trainTimeInterval > 0)) {
      throw new Error(
        `ModelCheckpoint trainTimeInterval must be a positive number of seconds, got ${opts.trainTimeInterval}`,
      );
    }
    const stepOrTime = this.everyNTrainSteps > 0 || this.trainTimeInterval !== undefined;
    this.everyNEpochs = nonNegInt('everyNEpochs', opts.everyNEpochs ?? (stepOrTime ? 0 : 1));
    this.autoInsertMetricName = opts.autoInsertMetricName ?? true;
    if (opts.saveOnTrainEpochEnd !== undefined && typeof opts.saveOnTrainEpochEnd !== 'boolean') {
      throw new Error(
        `ModelCheckpoint saveOnTrainEpochEnd must be a boolean, got ${JSON.stringify(opts.saveOnTrainEpochEnd)}`,
      );
    }
    this.saveOnTrainEpochEnd = opts.saveOnTrainEpochEnd;
  }

  override get monitorsMetrics(): boolean {
    return true;
  }

  override get stateKey(): string {
    return `ModelCheckpoint{${this.monitor ?? ''},${this.mode},${this.everyNTrainSteps},${this.everyNEpochs},${this.trainTimeInterval ?? ''}}`;
  }

  override setup(trainer: Trainer): void {
    if (this.dirpath === undefined) {
      this.dirpath = defaultCheckpointDir(trainer.defaultRootDir, { join, resolve }, process.env);
    }
  }

  override async onTrainBatchEnd(trainer: Trainer, module: Module): Promise<void> {
    // only between optimizer steps: half-accumulated gradients are not part of a checkpoint
    if (
      trainer.sanityChecking ||
      trainer.globalStep === this.lastSavedStep ||
      !trainer.atOptimizerStepBoundary
    )
      return;
    const byStep = this.everyNTrainSteps > 0 && trainer.globalStep % this.everyNTrainSteps === 0;
    const byTime =
      this.trainTimeInterval !== undefined &&
      (performance.now() - this.lastTimeSave) / 1000 >= this.trainTimeInterval;
    if (byStep || byTime) await this.save(trainer, module, false);
  }

  /** Lightning's `_should_save_on_train_epoch_end`: after validation whenever fit validates other than once per epoch. */
  private savesOnTrainEpochEnd(trainer: Trainer): boolean {
    if (this.saveOnTrainEpochEnd !== undefined) return this.saveOnTrainEpochEnd;
    const c = trainer.config;
    if (c.checkValEveryNEpoch !== 1) return false;
    if (trainer.fitLoop.numValBatches === 0) return true;
    return c.valCheckInterval === 1;
  }

  private skip(trainer: Trainer): boolean {
    return (
      trainer.stage !== 'fit' ||
      trainer.sanityChecking ||
      trainer.fastDevRun > 0 ||
      trainer.globalStep === this.lastSavedStep
    );
  }

  override async onTrainEpochEnd(trainer: Trainer, module: Module): Promise<void> {
    if (this.skip(trainer) || !this.savesOnTrainEpochEnd(trainer)) return;
    if (this.everyNEpochs > 0 && (trainer.currentEpoch + 1) % this.everyNEpochs === 0)
      await this.save(trainer, module, true);
  }

  override async onValidationEnd(trainer: Trainer, module: Module): Promise<void> {
    if (this.skip(trainer) || this.savesOnTrainEpochEnd(trainer)) return;
    if (this.everyNEpochs > 0 && (trainer.currentEpoch + 1) % this.everyNEpochs === 0)
      await this.save(trainer, module, true);
  }

  /** `{epoch}`, `{step}` and any metric, with an optional format spec (`.3f`, `d`, `.2e`). */
  formatName(metrics: Record<string, number>, epoch: number, step: number): string {
    const values: Record<string, number> = { ...metrics, epoch, step };
    return this.filename.replace(
      /\{([^}:]+)(?::([^}]*))?\}/g,
      (_m, key: string, spec: string | undefined) => {
        const v = values[key];
        const text = v === undefined ? 'nan' : formatNumber(v, spec);
        return this.autoInsertMetricName ? `${key.replaceAll('/', '_')}=${text}` : text;
      },
    );
  }

  private better(a: number, b: number): boolean {
    if (Number.isNaN(a)) return false;
    if (Number.isNaN(b)) return true;
    return this.mode === 'min' ? a < b : a > b;
  }

  private async save(trainer: Trainer, _module: Module, atEpochEnd: boolean): Promise<void> {
    this.lastSavedStep = trainer.globalStep;
    this.lastTimeSave = performance.now();
    const dir = this.dirpath!;
    // like Lightning's monitor candidates: `epoch` and `step` can be monitored and put in names
    const metrics: Record<string, number> = {
      ...trainer.callbackMetrics,
      epoch: trainer.currentEpoch,
      step: trainer.globalStep,
    };
    let saved: string | null = null;
    if (this.saveTopK !== 0) {
      const path = join(dir, `${this.formatName(metrics, trainer.currentEpoch, trainer.globalStep)}.ckpt`);
      if (this.monitor) {
        const current = metrics[this.monitor];
        if (current === undefined) {
          if (atEpochEnd) {
            throw new Error(
              `ModelCheckpoint(monitor="${this.monitor}") found no such metric; logged: ${Object.keys(metrics).join(', ') || 'none'}`,
            );
          }
        } else {
          const entries = Object.entries(this.bestKModels);
          const worst = entries.reduce<[string, number] | null>(
            (w, e) => (w === null || this.better(w[1], e[1]) ? e : w),
            null,
          );
          const keep =
            this.saveTopK === -1 ||
            entries.length < this.saveTopK ||
            (worst !== null && this.better(current, worst[1]));
          if (keep) {
            const isBest = this.bestModelScore === null || this.better(current, this.bestModelScore);
            if (isBest) {
              this.bestModelScore = current;
              this.bestModelPath = path;
            }
            this.bestKModels[path] = current;
            await trainer.saveCheckpoint(path, { isBest });
            saved = path;
            if (this.saveTopK !== -1 && Object.keys(this.bestKModels).length > this.saveTopK && worst) {
              delete this.bestKModels[worst[0]];
              if (worst[0] !== path) await this.remove(trainer, worst[0]);
            }
          }
        }
      } else {
        this.bestKModels[path] = trainer.globalStep;
        await trainer.saveCheckpoint(path);
        saved = path;
        this.bestModelPath = path;
        const ordered = Object.entries(this.bestKModels).sort((a, b) => a[1] - b[1]);
        while (this.saveTopK !== -1 && ordered.length > this.saveTopK) {
          const [old] = ordered.shift()!;
          delete this.bestKModels[old];
          if (old !== path) await this.remove(trainer, old);
        }
      }
    }
    if (this.saveLast) {
      const last = join(dir, 'last.ckpt');
      if (saved && trainer.isGlobalZero) {
        const tmp = `${last}.tmp-${process.pid}`;
        await rm(tmp, { force: true });
        await link(saved, tmp);
        await rename(tmp, last);
      } else if (!saved) await trainer.saveCheckpoint(last, { isLast: true });
      this.lastModelPath = last;
    }
  }

  private async remove(trainer: Trainer, path: string): Promise<void> {
    if (trainer.isGlobalZero) await rm(path, { force: true });
  }

  override stateDict(): Record<string, unknown> {
    return {
      dirpath: this.dirpath,
      bestModelPath: this.bestModelPath,
      bestModelScore: this.bestModelScore,
      bestKModels: this.bestKModels,
      lastModelPath: this.lastModelPath,
      lastSavedStep: this.lastSavedStep,
    };
  }

  override loadStateDict(state: Record<string, unknown>): void {
    // paths only carry over when the run writes to the same folder (a resumed run, not a copied file)
    if (state.dirpath !== this.dirpath) return;
    this.bestModelPath = String(state.bestModelPath ?? '');
    this.bestModelScore = (state.bestModelScore as number | null) ?? null;
    this.bestKModels = { ...(state.bestKModels as Record<string, number>) };
    this.lastModelPath = String(state.lastModelPath ?? '');
    this.lastSavedStep = Number(state.lastSavedStep ?? -1);
  }
}

function nonNegInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0)
    throw new Error(`ModelCheckpoint ${name} must be an integer >= 0, got ${JSON.stringify(v)}`);
  return v;
}

function formatNumber(v: number, spec: string | undefined): string {
  if (!spec) return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  const m = /^\.(\d+)([fe])$/.exec(spec);
  if (m) return m[2] === 'f' ? v.toFixed(Number(m[1])) : v.toExponential(Number(m[1]));
  if (spec === 'd') return String(Math.round(v));
  throw new Error(`ModelCheckpoint filename: unsupported format spec ":${spec}" (use .Nf, .Ne or d)`);
}

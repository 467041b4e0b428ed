import { join, resolve } from 'node:path';
import { readCheckpointFile, writeCheckpointFile } from '../checkpoint/format.js';
import type { CheckpointState } from '../checkpoint/state.js';
import type { Module } from '../core/module.js';
import { getGlobalRng, seedEverything } from '../core/rng.js';
import type { CheckpointInfo } from '../loggers/logger.js';
import {
  emptyState,
  restoreOptimizers,
  restoreWeights,
  saveOptimizers,
  saveWeights,
} from './checkpointing.js';
import type { RunOptions, Trainer } from './trainer.js';

/** Checkpoints for the Trainer: which file a ckptPath means, what goes in one, and how it comes back. */
export class CheckpointConnector {
  constructor(private readonly trainer: Trainer) {}

  /** 'last', 'best' or a path to the file and its contents; null for none (or no last.ckpt yet). */
  async resolve(ckptPath: RunOptions['ckptPath']): Promise<{ path: string; state: CheckpointState } | null> {
    if (ckptPath === undefined || ckptPath === null) return null;
    if (typeof ckptPath !== 'string' || ckptPath.length === 0) {
      throw new Error(`ckptPath must be 'last', 'best' or a file path, got ${JSON.stringify(ckptPath)}`);
    }
    let path: string;
    if (ckptPath === 'last') {
      path = join(this.trainer.checkpointDir, 'last.ckpt');
      try {
        return { path, state: await readCheckpointFile(path) };
      } catch (err) {
        if ((err as Error).message.endsWith('no such file')) {
          process.stderr.write(
            `kiln: ckptPath 'last': no checkpoint at ${path} yet, starting from scratch\n`,
          );
          return null;
        }
        throw err;
      }
    }
    if (ckptPath === 'best') {
      const best = this.bestModelPath();
      if (!best)
        throw new Error(
          "ckptPath 'best' needs a ModelCheckpoint with a monitor that has saved a best checkpoint",
        );
      path = best;
    } else path = resolve(ckptPath);
    return { path, state: await readCheckpointFile(path) };
  }

  private bestModelPath(): string | null {
    for (const cb of this.trainer.callbacks) {
      const p = (cb as { bestModelPath?: unknown }).bestModelPath;
      if (typeof p === 'string' && p.length > 0) return p;
    }
    return null;
  }

  /** validate/test/predict: the weights of `ckptPath`, if given. */
  async loadWeights(module: Module, ckptPath: RunOptions['ckptPath']): Promise<void> {
    const ckpt = await this.resolve(ckptPath);
    if (ckpt) await this.restore(module, ckpt.state, ckpt.path, 'weights');
  }

  /** Everything a resumed run needs, after the state-dict and save hooks. */
  async capture(module: Module): Promise<CheckpointState> {
    const t = this.trainer;
    const opt = t.optimization;
    const loop = t.fitLoop.state;
    const state = emptyState();
    state.weightNames = await saveWeights(module, state.tensors);
    state.optimizers = await saveOptimizers(opt.optimizers, state.tensors);
    state.schedulers = opt.schedulers.map((s) => s.scheduler.stateDict());
    state.loop = { ...loop, epochMetrics: loop.epochFinished ? {} : t.metrics.epochState() };
    state.hparams = { ...module.hparams };
    state.dataLoader = t.fitLoop.trainLoader?.state() ?? null;
    state.dataModule = t.datamodule?.stateDict?.() ?? null;
    state.rng = { global: getGlobalRng()?.getState() ?? null };
    state.metrics = { ...t.metrics.callbackMetrics };
    for (const cb of t.callbacks) {
      const s = cb.stateDict();
      if (s !== undefined) state.callbacks[cb.stateKey] = s;
    }
    await t.hooks.call('onSaveCheckpoint', module, state);
    return state;
  }

  /**
   * `full`: weights, callbacks, then optimizers, schedulers, loop, data order and RNG; `weights`: weights
   * only. Lightning's order: the module's onLoadCheckpoint first (it may adapt the checkpoint), then the
   * callbacks' hooks and state, and only then the optimizer and scheduler state.
   */
  async restore(
    module: Module,
    state: CheckpointState,
    path: string,
    what: 'full' | 'weights',
  ): Promise<void> {
    const t = this.trainer;
    if (what === 'full') await t.hooks.module('onLoadCheckpoint', module, state);
    restoreWeights(module, state, path);
    t.loadedCheckpointPath = path;
    if (what === 'weights') return;
    if (state.dataModule && t.datamodule?.loadStateDict) t.datamodule.loadStateDict(state.dataModule);
    await t.hooks.callbacks('onLoadCheckpoint', module, state);
    for (const cb of t.callbacks) {
      const s = state.callbacks[cb.stateKey];
      if (s !== undefined) cb.loadStateDict(s as Record<string, unknown>);
    }
    const opt = t.optimization;
    await restoreOptimizers(opt.optimizers, state, path);
    if (state.schedulers.length !== opt.schedulers.length) {
      throw new Error(
        `checkpoint ${path}: holds ${state.schedulers.length} LR scheduler(s) but configureOptimizers() made ${opt.schedulers.length}`,
      );
    }
    state.schedulers.forEach((s, i) => {
      opt.schedulers[i]!.scheduler.loadStateDict(s);
    });
    t.fitLoop.state = { ...state.loop, epochMetrics: {} };
    t.metrics.loadEpochState(state.loop.epochMetrics ?? {});
    Object.assign(t.metrics.callbackMetrics, state.metrics);
    const loader = t.fitLoop.trainLoader;
    if (state.dataLoader && loader) loader.loadState(state.dataLoader);
    if (state.rng.global) {
      if (!getGlobalRng()) seedEverything(0);
      getGlobalRng()!.setState(state.rng.global);
    }
  }

  /** Writes the full state to `path` atomically (rank 0; other ranks return null) and tells the loggers. */
  async save(path: string, info: { isBest?: boolean; isLast?: boolean }): Promise<CheckpointInfo | null> {
    const t = this.trainer;
    const module = t.module;
    if (!module) throw new Error('saveCheckpoint needs a module attached by fit()');
    // no barrier: ranks may decide differently whether to save (unsynced metrics); only rank 0 writes
    if (!t.isGlobalZero) return null;
    t.profiler?.start('saveCheckpoint');
    const state = await this.capture(module);
    const { sizeBytes, sha256 } = await writeCheckpointFile(path, state);
    const loop = t.fitLoop.state;
    const result: CheckpointInfo = {
      path,
      step: loop.globalStep,
      epoch: loop.epoch,
      sizeBytes,
      sha256,
      metrics: { ...t.metrics.callbackMetrics },
      isBest: info.isBest ?? false,
      isLast: info.isLast ?? false,
    };
    t.lastCheckpoint = { ...result, time: new Date().toISOString() };
    for (const lg of t.loggers) await lg.logCheckpoint?.(result);
    t.profiler?.stop('saveCheckpoint');
    return result;
  }
}

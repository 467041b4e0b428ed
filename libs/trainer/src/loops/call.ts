import type { Callback } from '../callbacks/callback.js';
import { Module } from '../core/module.js';
import type { Trainer } from '../trainer/trainer.js';

/** Callback hooks: every method of Callback that takes (trainer, module, …). */
export type CallbackHook = {
  [K in keyof Callback]: Callback[K] extends (t: Trainer, m: Module, ...rest: never[]) => unknown ? K : never;
}[keyof Callback];
type CallbackArgs<K extends CallbackHook> = Callback[K] extends (
  t: Trainer,
  m: Module,
  ...rest: infer A
) => unknown
  ? A
  : never;

/** Module hooks (the same arguments as the callback hook of that name, less trainer and module). */
export type ModuleHook =
  | 'onFitStart'
  | 'onFitEnd'
  | 'onTrainStart'
  | 'onTrainEnd'
  | 'onTrainEpochStart'
  | 'onTrainEpochEnd'
  | 'onTrainBatchStart'
  | 'onTrainBatchEnd'
  | 'onValidationStart'
  | 'onValidationEnd'
  | 'onValidationEpochStart'
  | 'onValidationEpochEnd'
  | 'onTestStart'
  | 'onTestEnd'
  | 'onTestEpochStart'
  | 'onTestEpochEnd'
  | 'onPredictStart'
  | 'onPredictEnd'
  | 'onBeforeOptimizerStep'
  | 'onSaveCheckpoint'
  | 'onLoadCheckpoint';
type ModuleArgs<K extends ModuleHook> = Module[K] extends (...a: infer A) => unknown ? A : never;

/**
 * The one place hooks are called: the module's hook and the callbacks' in one order, each profiled as
 * `<Owner>.<hook>`. A barebones Trainer calls none.
 */
export class HookDispatcher {
  constructor(private readonly trainer: Trainer) {}

  /** Every callback's hook, then the module's: Lightning's order (test_hooks.py). */
  async call<K extends ModuleHook & CallbackHook>(
    name: K,
    module: Module,
    ...args: CallbackArgs<K> & ModuleArgs<K>
  ): Promise<void> {
    if (this.trainer.barebones) return;
    await this.callbacks(name, module, ...(args as CallbackArgs<K>));
    await this.module(name, module, ...(args as ModuleArgs<K>));
  }

  /**
   * Train-epoch end as Lightning orders it: callbacks that monitor no metric, the module, then the
   * monitoring ones (checkpointing, early stopping), which thus see what the module's hook logged.
   */
  async trainEpochEnd(module: Module): Promise<void> {
    if (this.trainer.barebones) return;
    await this.each('onTrainEpochEnd', module, [], false);
    await this.module('onTrainEpochEnd', module);
    await this.each('onTrainEpochEnd', module, [], true);
  }

  /** The module's hook alone; returns what it returned. */
  async module<K extends ModuleHook>(name: K, module: Module, ...args: ModuleArgs<K>): Promise<unknown> {
    if (this.trainer.barebones) return undefined;
    // a hook the Module does not override does nothing: no call, no await (per batch, this adds up)
    if (module[name] === Module.prototype[name]) return undefined;
    const prof = this.trainer.profiler;
    prof?.start(`Module.${name}`);
    const out = await (module[name] as (...a: ModuleArgs<K>) => unknown).apply(module, args);
    prof?.stop(`Module.${name}`);
    return out;
  }

  /** Every callback's hook, in list order. */
  callbacks<K extends CallbackHook>(name: K, module: Module, ...args: CallbackArgs<K>): Promise<void> {
    if (this.trainer.callbacks.length === 0) return Promise.resolve();
    return this.each(name, module, args, null);
  }

  private async each<K extends CallbackHook>(
    name: K,
    module: Module,
    args: CallbackArgs<K>,
    monitors: boolean | null,
  ): Promise<void> {
    if (this.trainer.barebones) return;
    const prof = this.trainer.profiler;
    for (const cb of this.trainer.callbacks) {
      if (monitors !== null && cb.monitorsMetrics !== monitors) continue;
      const label = prof ? `${cb.constructor.name}.${name}` : '';
      prof?.start(label);
      await (cb[name] as (t: Trainer, m: Module, ...a: CallbackArgs<K>) => unknown).call(
        cb,
        this.trainer,
        module,
        ...args,
      );
      prof?.stop(label);
    }
  }
}

import type { Callback } from '../callbacks/callback.js';
import type { Module } from '../core/module.js';
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

  /** The module's hook, then every callback's. */
  async call<K extends ModuleHook & CallbackHook>(
    name: K,
    module: Module,
    ...args: CallbackArgs<K> & ModuleArgs<K>
  ): Promise<void> {
    if (this.trainer.barebones) return;
    await this.module(name, module, ...(args as ModuleArgs<K>));
    await this.callbacks(name, module, ...(args as CallbackArgs<K>));
  }

  /** The module's hook alone; returns what it returned. */
  async module<K extends ModuleHook>(name: K, module: Module, ...args: ModuleArgs<K>): Promise<unknown> {
    if (this.trainer.barebones) return undefined;
    const prof = this.trainer.profiler;
    prof?.start(`Module.${name}`);
    const out = await (module[name] as (...a: ModuleArgs<K>) => unknown).apply(module, args);
    prof?.stop(`Module.${name}`);
    return out;
  }

  /** Every callback's hook, in list order. */
  async callbacks<K extends CallbackHook>(name: K, module: Module, ...args: CallbackArgs<K>): Promise<void> {
    if (this.trainer.barebones) return;
    const prof = this.trainer.profiler;
    for (const cb of this.trainer.callbacks) {
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

import type { LogOptions, LogSink, ReduceFx } from '../core/module.js';

interface Agg {
  fx: ReduceFx;
  sum: number;
  weight: number;
  value: number;
  both: boolean;
  logger: boolean;
  progBar: boolean;
  syncDist: boolean;
}

export type LoopKind = 'train' | 'validate' | 'test' | 'predict';

/**
 * Collects what `Module.log` records. Step values go to loggers every `logEveryNSteps`; epoch values
 * are reduced with `reduceFx` (means weighted by batch size). A key logged both per step and per epoch
 * reaches loggers as `<key>_step` and `<key>_epoch`, as in Lightning.
 */
export class MetricsCollector implements LogSink {
  kind: LoopKind = 'train';
  /** true inside epoch-end hooks: `log` there defaults to an epoch value, as in Lightning */
  inEpochEndHook = false;
  /** size of the batch being processed (default weight of epoch means) */
  batchSize = 1;
  /** latest value of everything: what monitors and filename templates read */
  readonly callbackMetrics: Record<string, number> = {};
  readonly progressBarMetrics: Record<string, number> = {};
  /** step values waiting for the next logger flush */
  pendingStep: Record<string, number> = {};
  private aggs: Record<LoopKind, Map<string, Agg>> = {
    train: new Map(),
    validate: new Map(),
    test: new Map(),
    predict: new Map(),
  };

  log(name: string, value: number, opts: LogOptions): void {
    const stepwise = this.kind === 'train' && !this.inEpochEndHook;
    const onStep = opts.onStep ?? stepwise;
    const onEpoch = opts.onEpoch ?? !stepwise;
    const logger = opts.logger ?? true;
    if (onStep) {
      this.callbackMetrics[name] = value;
      // Lightning's callback_metrics hold both forms of a value logged per step and per epoch
      if (onEpoch) this.callbackMetrics[`${name}_step`] = value;
      if (logger) this.pendingStep[onEpoch ? `${name}_step` : name] = value;
      if (opts.progBar) this.progressBarMetrics[name] = value;
    }
    if (onEpoch) {
      const fx = opts.reduceFx ?? 'mean';
      const w = opts.batchSize ?? this.batchSize;
      let a = this.aggs[this.kind].get(name);
      if (!a) {
        a = {
          fx,
          sum: 0,
          weight: 0,
          value: fx === 'max' ? -Infinity : fx === 'min' ? Infinity : 0,
          both: onStep,
          logger,
          progBar: opts.progBar ?? false,
          syncDist: opts.syncDist ?? false,
        };
        this.aggs[this.kind].set(name, a);
      }
      a.sum += value * w;
      a.weight += w;
      if (fx === 'max') a.value = Math.max(a.value, value);
      else if (fx === 'min') a.value = Math.min(a.value, value);
      else if (fx === 'sum') a.value += value;
      // an epoch-end hook's value is final now: monitors called after the hook must see it
      if (this.inEpochEndHook) this.callbackMetrics[name] = fx === 'mean' ? a.sum / a.weight : a.value;
    }
  }

  takeStepLogs(): Record<string, number> {
    const out = this.pendingStep;
    this.pendingStep = {};
    return out;
  }

  /**
   * Reduces the epoch's values, updates callbackMetrics and returns what loggers should get.
   * `reduce` combines values across ranks (DDP) for keys logged with syncDist.
   */
  async endEpoch(
    kind: LoopKind,
    reduce?: (values: number[], op: ReduceFx) => Promise<number[]>,
  ): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [name, a] of this.aggs[kind]) {
      let v = a.fx === 'mean' ? (a.weight > 0 ? a.sum / a.weight : Number.NaN) : a.value;
      if (a.syncDist && reduce) {
        if (a.fx === 'mean') {
          const [s, w] = await reduce([a.sum, a.weight], 'sum');
          v = s! / w!;
        } else v = (await reduce([v], a.fx))[0]!;
      }
      this.callbackMetrics[name] = v;
      if (a.both) this.callbackMetrics[`${name}_epoch`] = v;
      if (a.progBar) this.progressBarMetrics[name] = v;
      if (a.logger) out[a.both ? `${name}_epoch` : name] = v;
    }
    this.aggs[kind].clear();
    return out;
  }

  resetEpoch(kind: LoopKind): void {
    this.aggs[kind].clear();
  }

  /** Partial training-epoch aggregates, for checkpoints taken mid-epoch. */
  epochState(): Record<string, unknown> {
    return Object.fromEntries(this.aggs.train);
  }

  loadEpochState(state: Record<string, unknown>): void {
    this.aggs.train = new Map(Object.entries(state) as [string, Agg][]);
  }
}

import { getLearningRate } from '../optim/lr.js';
import type { Trainer } from '../trainer/trainer.js';
import { Callback } from './callback.js';

/** Logs every optimizer's learning rate (`lr-Adam`, or the scheduler's name) per step or per epoch. */
export class LearningRateMonitor extends Callback {
  readonly loggingInterval: 'step' | 'epoch';

  constructor(opts: { loggingInterval?: 'step' | 'epoch' } = {}) {
    super();
    this.loggingInterval = opts.loggingInterval ?? 'epoch';
    if (this.loggingInterval !== 'step' && this.loggingInterval !== 'epoch') {
      throw new Error(
        `LearningRateMonitor loggingInterval must be 'step' or 'epoch', got ${JSON.stringify(opts.loggingInterval)}`,
      );
    }
  }

  /** current rates by name */
  rates(trainer: Trainer): Record<string, number> {
    const out: Record<string, number> = {};
    const scheds = trainer._schedulers();
    trainer._optimizers().forEach((opt, i) => {
      const s = scheds.find((x) => x.optimizerIndex === i);
      const many = trainer._optimizers().length > 1;
      out[s?.name ?? `lr-${opt.getClassName()}${many ? `-${i}` : ''}`] = getLearningRate(opt);
    });
    return out;
  }

  private async emit(trainer: Trainer): Promise<void> {
    const rates = this.rates(trainer);
    Object.assign(trainer.callbackMetrics, rates);
    if (trainer.isGlobalZero)
      for (const lg of trainer.loggers) await lg.logMetrics(rates, trainer.globalStep);
  }

  override async onTrainEpochStart(trainer: Trainer): Promise<void> {
    if (this.loggingInterval === 'epoch') await this.emit(trainer);
  }

  override async onTrainBatchEnd(trainer: Trainer): Promise<void> {
    const every = trainer.options.logEveryNSteps ?? 50;
    if (this.loggingInterval === 'step' && trainer.globalStep % every === 0) await this.emit(trainer);
  }
}

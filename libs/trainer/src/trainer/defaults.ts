import type { Callback } from '../callbacks/callback.js';
import { ModelCheckpoint } from '../callbacks/model-checkpoint.js';
import { ModelSummary } from '../callbacks/model-summary.js';
import { PreemptionHandler } from '../callbacks/preemption.js';
import { ProgressBar } from '../callbacks/progress-bar.js';
import { Timer } from '../callbacks/timer.js';
import type { Trainer } from './trainer.js';

/** The callbacks a Trainer adds unless the user passed their own of that kind (or turned it off). */
export function defaultCallbacks(trainer: Trainer, user: Callback[]): Callback[] {
  const o = trainer.options;
  const has = (C: abstract new (...a: never[]) => Callback) => user.some((c) => c instanceof C);
  const out: Callback[] = [];
  const devRun = trainer.fastDevRun > 0;
  if (o.enableProgressBar !== false && !has(ProgressBar)) out.push(new ProgressBar());
  if (o.enableModelSummary !== false && !devRun && !has(ModelSummary)) out.push(new ModelSummary());
  const checkpointing = o.enableCheckpointing !== false && !devRun;
  if (checkpointing && !has(ModelCheckpoint)) out.push(new ModelCheckpoint());
  if (!checkpointing && has(ModelCheckpoint)) {
    throw new Error('enableCheckpointing: false conflicts with a ModelCheckpoint in callbacks');
  }
  if (trainer.maxTimeSeconds !== null && !has(Timer))
    out.push(new Timer({ duration: trainer.maxTimeSeconds }));
  if (checkpointing && !has(PreemptionHandler)) out.push(new PreemptionHandler());
  return out;
}

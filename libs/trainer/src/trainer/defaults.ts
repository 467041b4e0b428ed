import type { Callback } from '../callbacks/callback.js';
import { ModelCheckpoint } from '../callbacks/model-checkpoint.js';
import { ModelSummary } from '../callbacks/model-summary.js';
import { PreemptionHandler } from '../callbacks/preemption.js';
import { ProgressBar } from '../callbacks/progress-bar.js';
import { ProgressEndpoint, progressEndpointFromEnv } from '../callbacks/progress-endpoint.js';
import { Timer } from '../callbacks/timer.js';
import type { Trainer } from './trainer.js';

/**
 * The user's callbacks plus those a Trainer adds unless the user passed their own of that kind (or
 * turned it off). A fastDevRun saves no checkpoints, as in Lightning: the user's ModelCheckpoints sit
 * it out rather than fail the run. With KILN_PROGRESS_PORT set (a worker pod), rank 0 serves its progress
 * for the operator through a ProgressEndpoint.
 */
export function withDefaultCallbacks(trainer: Trainer, given: Callback[]): Callback[] {
  const o = trainer.options;
  const devRun = trainer.fastDevRun > 0;
  const user = devRun ? given.filter((c) => !(c instanceof ModelCheckpoint)) : given;
  const has = (C: abstract new (...a: never[]) => Callback) => user.some((c) => c instanceof C);
  const out: Callback[] = [...user];
  if (o.enableProgressBar !== false && !has(ProgressBar)) out.push(new ProgressBar());
  if (o.enableModelSummary !== false && !devRun && !has(ModelSummary)) out.push(new ModelSummary());
  const checkpointing = o.enableCheckpointing !== false && !devRun;
  if (checkpointing && !has(ModelCheckpoint)) out.push(new ModelCheckpoint());
  if (o.enableCheckpointing === false && has(ModelCheckpoint)) {
    throw new Error('enableCheckpointing: false conflicts with a ModelCheckpoint in callbacks');
  }
  if (trainer.maxTimeSeconds !== null && !has(Timer))
    out.push(new Timer({ duration: trainer.maxTimeSeconds }));
  if (checkpointing && !has(PreemptionHandler)) out.push(new PreemptionHandler());
  if (!has(ProgressEndpoint)) {
    const endpoint = progressEndpointFromEnv();
    if (endpoint) out.push(endpoint);
  }
  return out;
}

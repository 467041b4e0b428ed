// Growing a running elastic job: once it has run at one size for the cool-down, it relaunches larger
// when room for more workers exists (at least as large as a grow request already asked for), else it
// asks the autoscaler for room up to maxWorkers through a grow ProvisioningRequest and relaunches once
// that room is there. Jobs still waiting for admission come first: nothing grows while any waits.
import { elasticTarget, isWaiting } from './admission.js';
import { trueSince } from './conditions.js';
import { type ReconcileContext, type Step, transition } from './step.js';

export interface ElasticGrowthOptions {
  /** Least time an elastic job runs at one size before it is grown. */
  elasticCooldownMs: number;
  /** The running job's usual requeue interval (a grow retry due sooner requeues sooner). */
  progressIntervalMs: number;
}

/** The step that grows a Running elastic job of `workers` workers, or undefined to carry on as is. */
export function growElastic(
  step: Step,
  workers: number,
  ctx: ReconcileContext,
  options: ElasticGrowthOptions,
): Step | undefined {
  const { job, pods, status, now } = step;
  if (!job.spec.elastic || workers >= job.spec.elastic.maxWorkers) return undefined;
  const { maxWorkers } = job.spec.elastic;
  const runningFor = trueSince(status.conditions, 'Running', now.getTime()) ?? 0;
  const cooled = runningFor >= options.elasticCooldownMs;
  const target = cooled ? elasticTarget(ctx, job) : 0;
  const least = ctx.provisioner.growingTo(job, workers, now.getTime());
  if (target > workers && (least === undefined || target >= least)) {
    transition(step, 'Restarting', 'ScaleUp', `growing from ${workers} to ${target} workers`);
    step.actions.push({ kind: 'deletePods', pods });
    return step;
  }
  // No room to grow onto: ask the autoscaler for it (the grown gang relaunches once it is there).
  const canGrow = cooled && !ctx.jobs.some(isWaiting);
  const growth = ctx.provisioner.planGrowth(job, workers, maxWorkers, canGrow, now.getTime());
  if (!growth) return undefined;
  step.actions.push({ kind: 'provisioning', plan: growth, workers: maxWorkers });
  const wait = cooled ? growth.retryInMs : options.elasticCooldownMs - runningFor;
  if (wait !== undefined && wait < options.progressIntervalMs) return { ...step, requeueAfterMs: wait + 50 };
  return { ...step, requeueAfterMs: options.progressIntervalMs };
}

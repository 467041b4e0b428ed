// Launching a gang: a job that is Pending, Queued or Restarting has its old pods torn down, waits out
// its restart backoff (not after a scale-up), is admitted by the admission plan — or, when it does not
// fit and autoscaling is on, asks the Cluster Autoscaler for its whole gang and is admitted on that
// capacity — and then starts: the Service and all its workers, carrying the request they consume.
import type { TrainingJobPhase } from '@kiln/spec';
import { gangTimeoutMs, keyOf, planAdmission, wantedWorkers } from './admission.js';
import { findCondition, trueSince } from './conditions.js';
import { Provisioner } from './provisioner.js';
import { type ReconcileContext, type Step, transition } from './step.js';

/** Pending, Queued or Restarting: tear down what is left, wait out the backoff, then admit the gang. */
export function launchWhenAdmitted(
  step: Step,
  phase: TrainingJobPhase,
  ctx: ReconcileContext,
  backoffMs: (restarts: number) => number,
): Step {
  const { job, pods, status, now } = step;
  if (pods.length > 0) {
    // New pods reuse the old names, so the old gang must be gone first; pod deletions requeue the job.
    step.actions.push({ kind: 'deletePods', pods });
    return step;
  }
  // A scale-up is not a failure: it relaunches without a backoff.
  if (phase === 'Restarting' && findCondition(status.conditions, 'Restarting')?.reason !== 'ScaleUp') {
    const since = trueSince(status.conditions, 'Restarting', now.getTime()) ?? Number.POSITIVE_INFINITY;
    const wait = backoffMs(status.restarts ?? 0) - since;
    if (wait > 0) return { ...step, requeueAfterMs: wait };
  }
  const provisioner = ctx.provisioner.enabled ? ctx.provisioner : undefined;
  let decision = planAdmission(ctx, now.getTime(), provisioner).get(keyOf(job));
  // A gang that does not fit asks the Cluster Autoscaler for its capacity, and is admitted on it.
  const gang = wantedWorkers(job).min;
  const plan = ctx.provisioner.plan(job, decision, gang, now.getTime());
  if (plan) {
    decision = plan.decision ?? decision;
    step.actions.push({ kind: 'provisioning', plan, workers: gang });
  }
  if (!decision || decision.workers === 0) {
    const reason = decision?.reason ?? 'InsufficientCapacity';
    const message = decision?.message ?? 'does not fit';
    const queued = findCondition(status.conditions, 'Queued');
    if (phase !== 'Queued' || queued?.reason !== reason) transition(step, 'Queued', reason, message);
    else if (queued.message !== message) {
      // Same wait, new detail (the autoscaler's answer): the time it has lasted (SINCE) is kept.
      status.conditions = status.conditions?.map((c) => (c === queued ? { ...c, message } : c));
    }
    // Capacity changes requeue waiting jobs; the timer is a safety net (or the end of a cool-off).
    return {
      ...step,
      requeueAfterMs: decision?.retryInMs !== undefined ? decision.retryInMs + 50 : 30_000,
    };
  }
  transition(step, 'Starting', decision.reason, decision.message);
  step.actions.push(
    { kind: 'ensureService' },
    {
      kind: 'createWorkers',
      workers: decision.workers,
      existing: [],
      annotations: Provisioner.podAnnotations(plan),
    },
  );
  return { ...step, reserve: decision.workers, requeueAfterMs: gangTimeoutMs(job) };
}

// The TrainingJob reconciler: level-triggered and idempotent. Each pass reads the job, its pods and the
// nodes from the caches and lets the handler for the job's phase decide the next step: the new status,
// the phase transition with its event, and the actions that follow. The step runner (step.ts) writes
// the status once, then acts, as JobSet and Kubeflow Trainer do. Everything needed to resume after a
// crash is in the job's status (phase, restarts, condition times) and its pods' labels. The policies
// live in their own files: admission.ts, gang-start.ts, failure-policy.ts, finish.ts, expectations.ts,
// elastic-growth.ts, launch.ts.
import { RESTART_EXIT_CODES_DEFAULT, type TrainingJobPhase } from '@kiln/spec';
import { fitNow, gangTimeoutMs, keyOf } from './admission.js';
import { WORLD_LABEL } from './children.js';
import { trueSince } from './conditions.js';
import { growElastic } from './elastic-growth.js';
import type { EventRecorder } from './events.js';
import { Expectations } from './expectations.js';
import { gangFailures, judgeGangFailures, restartBackoffMs, restartOrFail } from './failure-policy.js';
import { deadlineLeftMs, judgeSuccess, judgeTtl, podsToClean } from './finish.js';
import { gangMembers, judgeGangStart } from './gang-start.js';
import type { KubeClient } from './kube.js';
import { launchWhenAdmitted } from './launch.js';
import type { Log } from './log.js';
import { ProgressPoller } from './progress.js';
import type { Prometheus } from './prometheus.js';
import {
  beginStep,
  type ReconcileContext,
  type Step,
  StepRunner,
  type StepRunnerOptions,
  transition,
} from './step.js';

export type { ReconcileContext } from './step.js';

export interface ReconcilerOptions extends StepRunnerOptions {
  /** First delay before a gang restart; doubles with each restart. */
  restartBackoffMs: number;
  maxRestartBackoffMs: number;
  /** How often rank 0's progress is read into status. */
  progressIntervalMs: number;
  /** Least time an elastic job runs at one size before it is grown. */
  elasticCooldownMs: number;
}

export interface Result {
  requeueAfterMs?: number;
}

const TERMINAL = new Set<TrainingJobPhase>(['Succeeded', 'Failed']);
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class Reconciler {
  private readonly expectations = new Expectations();
  private readonly runner: StepRunner;
  private readonly progress: ProgressPoller;

  constructor(
    kube: KubeClient,
    private readonly ctx: ReconcileContext,
    events: EventRecorder,
    private readonly options: ReconcilerOptions,
    prometheus: Prometheus,
    log: Log,
  ) {
    this.runner = new StepRunner(kube, ctx, events, options, prometheus, log, this.expectations);
    this.progress = new ProgressPoller(options.progressPort, options.progressIntervalMs);
  }

  async reconcile(key: string): Promise<Result> {
    const job = this.ctx.job(key);
    if (!job) {
      this.ctx.reserve(key, undefined);
      this.expectations.forgetJob(key);
      this.progress.forget(key);
      return {};
    }
    // Deletion: garbage collection removes the children through their owner references.
    if (job.metadata.deletionTimestamp) return {};
    const step = await this.decide(beginStep(job, this.ctx.podsOf(job), new Date()));
    // ProvisioningRequests go once the gang's pods are bound, or the job no longer waits for capacity.
    const bound = step.pods.length > 0 && step.pods.every((p) => !!p.spec?.nodeName);
    const world = step.pods.find((p) => p.metadata?.labels?.[WORLD_LABEL])?.metadata?.labels?.[WORLD_LABEL];
    const done = this.ctx.provisioner.cleanup(
      { ...job, status: step.status },
      bound,
      world === undefined ? undefined : Number(world),
    );
    if (done) step.actions.push({ kind: 'provisioning', plan: done, workers: 0 });
    return this.runner.run(step);
  }

  /** Picks the handler for the job's phase; suspension and the deadline cut across phases. */
  private async decide(step: Step): Promise<Step> {
    const { job, now } = step;
    const phase: TrainingJobPhase = step.status.phase ?? 'Pending';
    if (TERMINAL.has(phase)) return this.finished(step);
    if (job.spec.runPolicy?.suspend) {
      if (phase !== 'Suspended') {
        transition(step, 'Suspended', 'Suspended', 'spec.runPolicy.suspend is true; workers stopped');
      }
      step.actions.push({ kind: 'deletePods', pods: step.pods });
      return step;
    }
    if (phase === 'Suspended') {
      // Resuming is a gang launch from the last checkpoint; the deadline counts from the new start.
      transition(step, 'Restarting', 'Resumed', 'spec.runPolicy.suspend is false; relaunching');
      step.status.startTime = undefined;
      return { ...step, requeueAfterMs: 0 };
    }
    const deadlineInMs = deadlineLeftMs(job, step.status.startTime, now.getTime());
    if (deadlineInMs !== undefined && deadlineInMs <= 0) {
      const seconds = job.spec.runPolicy?.activeDeadlineSeconds;
      return this.fail(step, 'DeadlineExceeded', `ran longer than activeDeadlineSeconds (${seconds} s)`);
    }
    const next =
      phase === 'Starting' || phase === 'Running'
        ? await this.supervise(step, phase)
        : launchWhenAdmitted(step, phase, this.ctx, (restarts) => this.backoff(restarts));
    if (deadlineInMs !== undefined) {
      next.requeueAfterMs = Math.min(next.requeueAfterMs ?? Number.POSITIVE_INFINITY, deadlineInMs + 50);
    }
    return next;
  }

  /** Starting or Running: watch the gang; any worker failing restarts all of it. */
  private async supervise(step: Step, phase: TrainingJobPhase): Promise<Step> {
    const { job, pods, status, now } = step;
    step.actions.push({ kind: 'ensureService' });
    const labelled = pods.find((p) => p.metadata?.labels?.[WORLD_LABEL])?.metadata?.labels?.[WORLD_LABEL];
    const workers = labelled ? Number(labelled) : this.ctx.reserved(keyOf(job));
    if (workers === undefined) {
      // Admitted by an earlier run of the operator that stopped before creating any pod: admit again.
      transition(step, 'Queued', 'Readmitting', 'no workers were created; admitting again');
      return { ...step, requeueAfterMs: 0 };
    }
    const retryOn = job.spec.runPolicy?.retryOnExitCodes ?? RESTART_EXIT_CODES_DEFAULT;
    const failures = gangFailures(pods, retryOn, this.ctx.nodeExists, this.ctx.failedSince, now.getTime());
    const { byIndex, missing } = gangMembers(pods, workers);
    const success = judgeSuccess(
      byIndex.get(0),
      pods,
      failures.some((f) => !f.retryable),
      now.getTime(),
    );
    if (success.kind === 'wait') return { ...step, requeueAfterMs: success.waitMs };
    if (success.kind === 'succeeded') return this.succeed(step);

    const live = pods.some((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending');
    const verdict = judgeGangFailures({
      failures,
      missing,
      running: phase === 'Running',
      live,
      now: now.getTime(),
    });
    if (verdict.kind === 'awaitCause') return { ...step, requeueAfterMs: verdict.waitMs };
    if (verdict.kind === 'failed') {
      const maxRestarts = job.spec.runPolicy?.maxRestarts ?? 3;
      const decision = restartOrFail(verdict.cause, status.restarts ?? 0, maxRestarts);
      if (!decision.restart) return this.fail(step, decision.reason, decision.message);
      status.restarts = decision.restarts;
      transition(step, 'Restarting', decision.reason, decision.message);
      step.actions.push({ kind: 'deletePods', pods });
      return { ...step, reserve: null, requeueAfterMs: this.backoff(decision.restarts) };
    }

    if (phase === 'Starting') {
      const start = judgeGangStart({
        pods,
        workers,
        missing,
        startingForMs: trueSince(status.conditions, 'Starting', now.getTime()) ?? 0,
        gangTimeoutMs: gangTimeoutMs(job),
        fitNow: () => fitNow(this.ctx, job),
      });
      if (start.kind === 'running') {
        transition(step, 'Running', 'AllWorkersRunning', `${workers} workers running`);
        status.startTime ??= iso(now);
        return { ...step, reserve: null, requeueAfterMs: this.options.progressIntervalMs };
      }
      if (start.kind === 'release') {
        transition(step, 'Queued', start.reason, start.message);
        step.actions.push({ kind: 'deletePods', pods });
        return { ...step, reserve: null };
      }
      if (missing.length > 0) step.actions.push({ kind: 'createWorkers', workers, existing: pods });
      return { ...step, requeueAfterMs: start.requeueAfterMs };
    }

    // Running.
    await this.progress.refresh(keyOf(job), pods, status, now.getTime());
    return (
      growElastic(step, workers, this.ctx, this.options) ?? {
        ...step,
        requeueAfterMs: this.options.progressIntervalMs,
      }
    );
  }

  private async succeed(step: Step): Promise<Step> {
    const { status, now } = step;
    await this.progress.refresh(keyOf(step.job), step.pods, status, now.getTime());
    const progress = { ...status.progress, percent: 100, etaSeconds: 0 };
    if (progress.totalSteps !== undefined) progress.step = progress.totalSteps;
    status.progress = progress;
    status.completionTime = iso(now);
    transition(step, 'Succeeded', 'WorkersSucceeded', 'worker 0 completed');
    return this.finished(step);
  }

  private fail(step: Step, reason: string, message: string): Step {
    const { status } = step;
    status.completionTime = iso(step.now);
    if (status.progress) status.progress = { ...status.progress, etaSeconds: undefined };
    transition(step, 'Failed', reason, message);
    return this.finished({ ...step, reserve: null });
  }

  /** Succeeded or Failed: honour cleanPodPolicy (every terminal path ends here), then the TTL. */
  private finished(step: Step): Step {
    const clean = podsToClean(step.job, step.pods);
    if (clean.length) step.actions.push({ kind: 'deletePods', pods: clean });
    const ttl = judgeTtl(step.job, step.status.completionTime, step.now.getTime());
    if (ttl.kind === 'delete') step.actions.push({ kind: 'deleteJob' });
    return { ...step, requeueAfterMs: ttl.kind === 'wait' ? ttl.waitMs : undefined };
  }

  private backoff(restarts: number): number {
    return restartBackoffMs(restarts, this.options.restartBackoffMs, this.options.maxRestartBackoffMs);
  }
}

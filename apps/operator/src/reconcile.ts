// The TrainingJob reconciler: level-triggered and idempotent. Each pass reads the job, its pods and the
// nodes from the caches and takes the next step toward the desired state; everything it needs to resume
// after a crash is in the job's status (phase, restarts, condition times) and its pods' labels. Status
// is written with the job's resourceVersion as a precondition, so a pass working from a stale cache
// cannot count a restart twice; children have deterministic names, so creating one twice is harmless.

import {
  EXIT_CODE,
  LABELS,
  RESTART_EXIT_CODES_DEFAULT,
  type TrainingJob,
  type TrainingJobPhase,
  type TrainingJobStatus,
} from '@kiln/spec';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import {
  type ClusterView,
  elasticTarget,
  fitNow,
  gangTimeoutMs as gangTimeoutOf,
  keyOf,
  planAdmission,
} from './admission.js';
import { buildService, buildWorkerPod, type ChildOptions, RESTART_LABEL, WORLD_LABEL } from './children.js';
import { enterPhase, findCondition, trueSince } from './conditions.js';
import type { EventRecorder } from './events.js';
import { isConflict, isNotFound, type KubeClient } from './kube.js';
import type { Logger } from './log.js';
import type { OperatorMetrics } from './metrics.js';
import { EtaEstimator, progressFromReport, readProgress } from './progress.js';

export interface ReconcilerOptions extends ChildOptions {
  /** First delay before a gang restart; doubles with each restart. */
  restartBackoffMs: number;
  maxRestartBackoffMs: number;
  /** How often rank 0's progress is read into status. */
  progressIntervalMs: number;
  /** Least time an elastic job runs at one size before it is grown. */
  elasticCooldownMs: number;
  /** Grace period for worker pods the operator deletes. */
  podGracePeriodSeconds: number;
}

export interface Result {
  requeueAfterMs?: number;
}

export interface ReconcileContext extends ClusterView {
  job(key: string): TrainingJob | undefined;
  nodeExists(name: string): boolean;
  /** The job's headless Service as the cache shows it (owned by this job), if it exists. */
  serviceOf(job: TrainingJob): V1Service | undefined;
  /** When this process first saw the pod Failed (ms), if it did. */
  failedSince(pod: V1Pod): number | undefined;
  remember(job: TrainingJob): void;
  reserve(key: string, workers: number | undefined): void;
}

const TERMINAL = new Set<TrainingJobPhase>(['Succeeded', 'Failed']);
/** How long the other workers may keep running after rank 0 succeeded before the job counts as done. */
const SUCCESS_GRACE_MS = 5_000;
/** How long peers' "peer lost" exits (75) wait for the failure that caused them to be reported. */
const CAUSE_GRACE_MS = 3_000;
/** How long a created pod may take to show up in the cache before it is created again. */
const CREATE_EXPECTATION_MS = 10_000;

interface Failure {
  code?: number;
  pod: string;
  retryable: boolean;
  reason: string;
  message: string;
  at: number;
}

function podFailure(
  pod: V1Pod,
  retryOn: number[],
  nodeExists: (n: string) => boolean,
  seenFailedAt: number | undefined,
): Failure | undefined {
  const name = pod.metadata!.name!;
  const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
  // finishedAt has whole seconds only; when this process saw the failure arrive orders it finer.
  const at = seenFailedAt ?? (Date.parse(terminated?.finishedAt as unknown as string) || Date.now());
  const disrupted = pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget' && c.status === 'True');
  if (pod.status?.phase === 'Failed' && disrupted) {
    // Preempted, evicted or its node went away: never the program's fault, so always retried.
    const why = disrupted.message || disrupted.reason || 'disrupted';
    return { pod: name, retryable: true, reason: 'WorkerLost', message: `${name} was disrupted: ${why}`, at };
  }
  if (pod.status?.phase === 'Failed') {
    const code = terminated?.exitCode;
    if (code === undefined) {
      // Failed without a container exit: evicted, node shut down, or preempted.
      const reason = pod.status?.reason ?? 'PodFailed';
      return { pod: name, retryable: true, reason: 'WorkerLost', message: `${name} failed: ${reason}`, at };
    }
    const retryable = retryOn.includes(code) || code === EXIT_CODE.peerLost;
    return {
      code,
      pod: name,
      retryable,
      reason: retryable ? 'RetryableExitCode' : 'WorkerFailed',
      message: `${name} exited with code ${code}${terminated?.reason ? ` (${terminated.reason})` : ''}${retryable ? '' : `, not one of retryOnExitCodes [${retryOn.join(', ')}]`}`,
      at,
    };
  }
  if (pod.metadata?.deletionTimestamp && pod.status?.phase !== 'Succeeded') {
    return { pod: name, retryable: true, reason: 'WorkerLost', message: `${name} was deleted`, at };
  }
  const node = pod.spec?.nodeName;
  if (node && !nodeExists(node)) {
    return { pod: name, retryable: true, reason: 'NodeLost', message: `${name}'s node ${node} is gone`, at };
  }
  return undefined;
}

function workerCounts(pods: V1Pod[]) {
  const counts = { ready: 0, running: 0, succeeded: 0, failed: 0 };
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase === 'Running') counts.running++;
    if (phase === 'Succeeded') counts.succeeded++;
    if (phase === 'Failed') counts.failed++;
    if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) counts.ready++;
  }
  return counts;
}

const STATUS_KEYS = [
  'phase',
  'conditions',
  'workers',
  'restarts',
  'lastCheckpoint',
  'progress',
  'startTime',
  'completionTime',
  'observedGeneration',
] as const;

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class Reconciler {
  private readonly eta = new EtaEstimator();
  private readonly progressReadAt = new Map<string, number>();

  constructor(
    private readonly kube: KubeClient,
    private readonly ctx: ReconcileContext,
    private readonly events: EventRecorder,
    private readonly options: ReconcilerOptions,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
  ) {}

  async reconcile(key: string): Promise<Result> {
    const job = this.ctx.job(key);
    if (!job) {
      this.ctx.reserve(key, undefined);
      this.serviceCreated.delete(key);
      this.eta.forget(key);
      this.progressReadAt.delete(key);
      return {};
    }
    // Deletion: garbage collection removes the children through their owner references.
    if (job.metadata.deletionTimestamp) return {};
    const pods = this.ctx.podsOf(job);
    const status: TrainingJobStatus = structuredClone(job.status ?? {});
    const phase: TrainingJobPhase = status.phase ?? 'Pending';
    status.workers = workerCounts(pods);
    status.observedGeneration = job.metadata.generation;
    const now = new Date();

    if (TERMINAL.has(phase)) return this.finished(job, pods, status, now);

    if (job.spec.runPolicy?.suspend) {
      if (phase !== 'Suspended') {
        this.enter(
          status,
          'Suspended',
          'Suspended',
          'spec.runPolicy.suspend is true; workers stopped',
          now,
          job,
        );
        if (!(await this.write(job, status))) return { requeueAfterMs: 200 };
      }
      await this.deletePods(pods);
      return {};
    }
    if (phase === 'Suspended') {
      // Resuming is a gang launch from the last checkpoint; the deadline counts from the new start.
      this.enter(status, 'Restarting', 'Resumed', 'spec.runPolicy.suspend is false; relaunching', now, job);
      status.startTime = undefined;
      if (!(await this.write(job, status))) return { requeueAfterMs: 200 };
      return { requeueAfterMs: 0 };
    }

    const deadline = job.spec.runPolicy?.activeDeadlineSeconds;
    let deadlineInMs: number | undefined;
    if (deadline && status.startTime) {
      deadlineInMs = Date.parse(status.startTime) + deadline * 1000 - now.getTime();
      if (deadlineInMs <= 0) {
        return this.fail(
          job,
          pods,
          status,
          now,
          'DeadlineExceeded',
          `ran longer than activeDeadlineSeconds (${deadline} s)`,
        );
      }
    }

    let result: Result;
    if (phase === 'Starting' || phase === 'Running') {
      await this.ensureService(job);
      result = await this.supervise(job, pods, status, phase, now);
    } else {
      result = await this.launchWhenAdmitted(job, pods, status, phase, now);
    }
    if (deadlineInMs !== undefined) {
      result.requeueAfterMs = Math.min(result.requeueAfterMs ?? Number.POSITIVE_INFINITY, deadlineInMs + 50);
    }
    return result;
  }

  /** Pending, Queued or Restarting: tear down what is left, wait out the backoff, then admit the gang. */
  private async launchWhenAdmitted(
    job: TrainingJob,
    pods: V1Pod[],
    status: TrainingJobStatus,
    phase: TrainingJobPhase,
    now: Date,
  ): Promise<Result> {
    const key = keyOf(job);
    if (pods.length > 0) {
      // New pods reuse the old names, so the old gang must be gone first; pod deletions requeue the job.
      await this.deletePods(pods);
      await this.write(job, status);
      return {};
    }
    if (phase === 'Restarting') {
      const since = trueSince(status.conditions, 'Restarting', now.getTime()) ?? Number.POSITIVE_INFINITY;
      const wait = this.backoff(status.restarts ?? 0) - since;
      if (wait > 0) {
        await this.write(job, status);
        return { requeueAfterMs: wait };
      }
    }
    const decision = planAdmission(this.ctx, now.getTime()).get(key);
    if (!decision || decision.workers === 0) {
      const reason = decision?.reason ?? 'InsufficientCapacity';
      const message = decision?.message ?? 'does not fit';
      const queued = findCondition(status.conditions, 'Queued');
      if (phase !== 'Queued' || queued?.reason !== reason || queued.message !== message) {
        this.enter(status, 'Queued', reason, message, now, job);
      }
      await this.write(job, status);
      // Capacity changes requeue waiting jobs; the timer is a safety net (or the end of a cool-off).
      return { requeueAfterMs: decision?.retryInMs !== undefined ? decision.retryInMs + 50 : 30_000 };
    }
    this.ctx.reserve(key, decision.workers);
    this.enter(status, 'Starting', decision.reason, decision.message, now, job);
    if (!(await this.write(job, status))) {
      this.ctx.reserve(key, undefined);
      return { requeueAfterMs: 200 };
    }
    await this.ensureService(job);
    const fresh = this.ctx.job(key) ?? job;
    await this.createWorkers(fresh, decision.workers, []);
    return { requeueAfterMs: gangTimeoutOf(job) };
  }

  /** Starting or Running: watch the gang; any worker failing restarts all of it. */
  private async supervise(
    job: TrainingJob,
    pods: V1Pod[],
    status: TrainingJobStatus,
    phase: TrainingJobPhase,
    now: Date,
  ): Promise<Result> {
    const key = keyOf(job);
    const labelled = pods.find((p) => p.metadata?.labels?.[WORLD_LABEL])?.metadata?.labels?.[WORLD_LABEL];
    const workers = labelled ? Number(labelled) : this.ctx.reserved(key);
    if (workers === undefined) {
      // Admitted by an earlier run of the operator that stopped before creating any pod: admit again.
      this.enter(status, 'Queued', 'Readmitting', 'no workers were created; admitting again', now, job);
      await this.write(job, status);
      return { requeueAfterMs: 0 };
    }
    const retryOn = job.spec.runPolicy?.retryOnExitCodes ?? RESTART_EXIT_CODES_DEFAULT;
    const failures = pods
      .map((p) => podFailure(p, retryOn, this.ctx.nodeExists, this.ctx.failedSince(p)))
      .filter((f): f is Failure => !!f)
      .sort((a, b) => a.at - b.at);
    const byIndex = new Map(pods.map((p) => [Number(p.metadata?.labels?.[LABELS.replicaIndex]), p]));
    const missing: number[] = [];
    for (let i = 0; i < workers; i++) if (!byIndex.has(i)) missing.push(i);
    const rank0 = byIndex.get(0);

    if (rank0?.status?.phase === 'Succeeded' && !failures.some((f) => !f.retryable)) {
      // The other ranks finish a moment after rank 0; give them that moment before cleanPodPolicy.
      const finished = rank0.status.containerStatuses?.[0]?.state?.terminated
        ?.finishedAt as unknown as string;
      const since = now.getTime() - (Date.parse(finished) || now.getTime());
      const live = pods.some((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending');
      if (live && since < SUCCESS_GRACE_MS) return { requeueAfterMs: SUCCESS_GRACE_MS - since };
      return this.succeed(job, pods, status, now);
    }
    if (failures.length > 0 || (phase === 'Running' && missing.length > 0)) {
      // The first failure is the cause; peers failing because it left (exit 75) are its effect, and
      // failures within a second of it count as simultaneous (a preemption taking several workers).
      const causes = failures.filter((f) => f.code !== EXIT_CODE.peerLost);
      // Only effects so far: the peer that left may not have reported its exit yet (pod statuses arrive
      // in any order). Wait a moment for it, so a permanent failure is not taken for a retryable one.
      const effectSince = failures.length > 0 ? now.getTime() - failures[0]!.at : 0;
      const unreported = pods.some((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending');
      if (failures.length > 0 && causes.length === 0 && unreported && effectSince < CAUSE_GRACE_MS) {
        await this.write(job, status);
        return { requeueAfterMs: CAUSE_GRACE_MS - effectSince };
      }
      const first = causes[0] ?? failures[0];
      const cause: Failure = first
        ? {
            ...first,
            retryable: first.retryable || causes.some((f) => f.retryable && f.at - first.at <= 1000),
          }
        : {
            pod: '',
            retryable: true,
            reason: 'WorkerLost',
            message: `worker(s) ${missing.join(', ')} disappeared`,
            at: 0,
          };
      return this.restartOrFail(job, pods, status, now, cause);
    }

    if (phase === 'Starting') {
      if (missing.length > 0) await this.createWorkers(job, workers, pods);
      const running = pods.filter((p) => p.status?.phase === 'Running').length;
      if (missing.length === 0 && running === workers) {
        this.enter(status, 'Running', 'AllWorkersRunning', `${workers} workers running`, now, job);
        status.startTime ??= iso(now);
        this.ctx.reserve(key, undefined);
        if (!(await this.write(job, status))) return { requeueAfterMs: 200 };
        return { requeueAfterMs: this.options.progressIntervalMs };
      }
      // Capacity went away after admission (a node removed): release now rather than at the timeout.
      const unschedulable = pods.some((p) =>
        p.status?.conditions?.some((x) => x.type === 'PodScheduled' && x.status === 'False'),
      );
      if (unschedulable && fitNow(this.ctx, job) < workers) {
        this.enter(
          status,
          'Queued',
          'CapacityLost',
          `${workers} workers no longer fit; released to be admitted again`,
          now,
          job,
        );
        this.ctx.reserve(key, undefined);
        if (!(await this.write(job, status))) return { requeueAfterMs: 200 };
        await this.deletePods(pods);
        return {};
      }
      const gangTimeoutMs = gangTimeoutOf(job);
      const waited = trueSince(status.conditions, 'Starting', now.getTime()) ?? 0;
      if (waited >= gangTimeoutMs) {
        const unplaced = pods.filter((p) => !p.spec?.nodeName).map((p) => p.metadata!.name);
        this.enter(
          status,
          'Queued',
          'GangTimeout',
          `not all ${workers} workers were placed within ${gangTimeoutMs / 1000} s (unplaced: ${unplaced.join(', ') || 'none'}); released`,
          now,
          job,
        );
        this.ctx.reserve(key, undefined);
        if (!(await this.write(job, status))) return { requeueAfterMs: 200 };
        await this.deletePods(pods);
        return {};
      }
      await this.write(job, status);
      return { requeueAfterMs: gangTimeoutMs - waited + 50 };
    }

    // Running.
    await this.refreshProgress(job, pods, status, now);
    if (job.spec.elastic && workers < job.spec.elastic.maxWorkers) {
      const runningFor = trueSince(status.conditions, 'Running', now.getTime()) ?? 0;
      if (runningFor >= this.options.elasticCooldownMs) {
        const target = elasticTarget(this.ctx, job);
        if (target > workers) {
          this.enter(
            status,
            'Restarting',
            'ScaleUp',
            `growing from ${workers} to ${target} workers`,
            now,
            job,
          );
          this.forceNoBackoff(status);
          if (!(await this.write(job, status))) return { requeueAfterMs: 200 };
          await this.deletePods(pods);
          return {};
        }
      }
    }
    await this.write(job, status);
    return { requeueAfterMs: this.options.progressIntervalMs };
  }

  private async restartOrFail(
    job: TrainingJob,
    pods: V1Pod[],
    status: TrainingJobStatus,
    now: Date,
    cause: Failure,
  ): Promise<Result> {
    if (!cause.retryable) return this.fail(job, pods, status, now, cause.reason, cause.message);
    const restarts = status.restarts ?? 0;
    const max = job.spec.runPolicy?.maxRestarts ?? 3;
    if (restarts >= max) {
      return this.fail(
        job,
        pods,
        status,
        now,
        'RestartLimitExceeded',
        `${cause.message}; already restarted ${restarts} of ${max} times`,
      );
    }
    status.restarts = restarts + 1;
    this.enter(
      status,
      'Restarting',
      cause.reason,
      `${cause.message}; restarting the whole gang (restart ${restarts + 1} of ${max})`,
      now,
      job,
    );
    this.ctx.reserve(keyOf(job), undefined);
    if (!(await this.write(job, status))) return { requeueAfterMs: 200 };
    await this.deletePods(pods);
    return { requeueAfterMs: this.backoff(restarts + 1) };
  }

  private async succeed(
    job: TrainingJob,
    pods: V1Pod[],
    status: TrainingJobStatus,
    now: Date,
  ): Promise<Result> {
    await this.refreshProgress(job, pods, status, now);
    status.progress = { ...status.progress, percent: 100, etaSeconds: 0 };
    if (status.progress.totalSteps !== undefined) status.progress.step = status.progress.totalSteps;
    status.completionTime = iso(now);
    this.enter(status, 'Succeeded', 'WorkersSucceeded', 'worker 0 completed', now, job);
    if (!(await this.write(job, status))) return { requeueAfterMs: 200 };
    return this.finished(this.ctx.job(keyOf(job)) ?? job, this.ctx.podsOf(job), status, now);
  }

  private async fail(
    job: TrainingJob,
    pods: V1Pod[],
    status: TrainingJobStatus,
    now: Date,
    reason: string,
    message: string,
  ): Promise<Result> {
    status.completionTime = iso(now);
    if (status.progress) status.progress = { ...status.progress, etaSeconds: undefined };
    this.enter(status, 'Failed', reason, message, now, job);
    this.ctx.reserve(keyOf(job), undefined);
    if (!(await this.write(job, status))) return { requeueAfterMs: 200 };
    return this.finished(this.ctx.job(keyOf(job)) ?? job, pods, status, now);
  }

  /** Succeeded or Failed: honour cleanPodPolicy (every terminal path ends here), then the TTL. */
  private async finished(
    job: TrainingJob,
    pods: V1Pod[],
    status: TrainingJobStatus,
    now: Date,
  ): Promise<Result> {
    const policy = job.spec.runPolicy?.cleanPodPolicy ?? 'Running';
    if (policy === 'All') await this.deletePods(pods);
    else if (policy === 'Running') {
      await this.deletePods(
        pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed'),
      );
    }
    await this.write(job, status);
    const ttl = job.spec.runPolicy?.ttlSecondsAfterFinished;
    if (ttl === undefined || !status.completionTime) return {};
    const left = Date.parse(status.completionTime) + ttl * 1000 - now.getTime();
    if (left > 0) return { requeueAfterMs: left + 50 };
    this.log.info({ job: keyOf(job) }, 'ttlSecondsAfterFinished elapsed; deleting the job');
    await this.kube.deleteJob(job.metadata.namespace!, job.metadata.name, job.metadata.uid!);
    return {};
  }

  private async refreshProgress(job: TrainingJob, pods: V1Pod[], status: TrainingJobStatus, now: Date) {
    const key = keyOf(job);
    const last = this.progressReadAt.get(key) ?? 0;
    if (now.getTime() - last < this.options.progressIntervalMs * 0.9) return;
    const rank0 = pods.find((p) => p.metadata?.labels?.[LABELS.replicaIndex] === '0');
    const ip = rank0?.status?.podIP;
    if (!ip) return;
    this.progressReadAt.set(key, now.getTime());
    const read = progressFromReport(await readProgress(ip, this.options.progressPort));
    if (!read) return;
    this.eta.apply(key, read.progress, now.getTime());
    status.progress = read.progress;
    if (read.checkpoint) status.lastCheckpoint = read.checkpoint;
  }

  private backoff(restarts: number): number {
    if (restarts <= 0) return 0;
    return Math.min(this.options.maxRestartBackoffMs, this.options.restartBackoffMs * 2 ** (restarts - 1));
  }

  /** A scale-up is not a failure: relaunch without waiting (the backoff reads restarts, unchanged). */
  private forceNoBackoff(status: TrainingJobStatus): void {
    const c = findCondition(status.conditions, 'Restarting');
    if (c) c.lastTransitionTime = '1970-01-01T00:00:00Z';
  }

  private enter(
    status: TrainingJobStatus,
    phase: TrainingJobPhase,
    reason: string,
    message: string,
    now: Date,
    job: TrainingJob,
  ): void {
    const from = status.phase ?? 'Pending';
    // A new phase is a new launch (or none): pods created for the previous one are no longer expected.
    for (const id of this.created.keys()) if (id.startsWith(`${keyOf(job)}#`)) this.created.delete(id);
    status.phase = phase;
    status.conditions = enterPhase(status.conditions, phase, reason, message, now, job.metadata.generation);
    this.pendingEvents.set(keyOf(job), { from, to: phase, reason, message });
  }

  private readonly pendingEvents = new Map<
    string,
    { from: string; to: TrainingJobPhase; reason: string; message: string }
  >();

  /** Writes status if it changed, guarded by resourceVersion; false on a conflict (stale cache). */
  private async write(job: TrainingJob, status: TrainingJobStatus): Promise<boolean> {
    const key = keyOf(job);
    const event = this.pendingEvents.get(key);
    this.pendingEvents.delete(key);
    const before = (job.status ?? {}) as Record<string, unknown>;
    const after = status as Record<string, unknown>;
    const patch: Record<string, unknown> = {};
    for (const k of STATUS_KEYS) {
      if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) patch[k] = after[k] ?? null;
    }
    if (Object.keys(patch).length === 0) return true;
    try {
      const updated = await this.kube.patchJobStatus(
        job.metadata.namespace!,
        job.metadata.name,
        patch,
        event ? job.metadata.resourceVersion : undefined,
      );
      this.ctx.remember(updated);
    } catch (err) {
      if (isConflict(err)) {
        this.log.debug({ job: key }, 'status conflict; retrying from a fresh copy');
        return false;
      }
      // Deleted meanwhile: the next pass finds it gone (garbage collection removes its children).
      if (isNotFound(err)) return false;
      throw err;
    }
    if (event) {
      this.metrics.transitions.inc({ phase: event.to });
      this.log.info(
        { job: key, from: event.from, to: event.to, reason: event.reason, message: event.message },
        'phase',
      );
      const warning = event.to === 'Failed' || event.to === 'Restarting' || event.reason === 'GangTimeout';
      this.events.record(job, warning ? 'Warning' : 'Normal', event.reason, event.message);
    }
    return true;
  }

  /** Creates the headless Service unless the cache shows it, or this process just created it. */
  private async ensureService(job: TrainingJob): Promise<void> {
    const key = keyOf(job);
    if (this.ctx.serviceOf(job)) {
      this.serviceCreated.delete(key);
      return;
    }
    const at = this.serviceCreated.get(key);
    if (at && at.uid === job.metadata.uid && Date.now() - at.time < CREATE_EXPECTATION_MS) return;
    await this.kube.createService(buildService(job, this.options));
    this.serviceCreated.set(key, { uid: job.metadata.uid!, time: Date.now() });
  }

  /** Services created by this process that the cache may not show yet. */
  private readonly serviceCreated = new Map<string, { uid: string; time: number }>();

  /** Pods this process created that the cache may not show yet (`ns/name` → when), so they are not re-created. */
  private readonly created = new Map<string, number>();

  private async createWorkers(job: TrainingJob, workers: number, existing: V1Pod[]): Promise<void> {
    const have = new Set(existing.map((p) => p.metadata?.labels?.[LABELS.replicaIndex]));
    const now = Date.now();
    for (const [k, at] of this.created) if (now - at > CREATE_EXPECTATION_MS) this.created.delete(k);
    const restart = job.status?.restarts ?? 0;
    // Any launch after one that ran (a restart, a resize, a resume) continues from the checkpoint.
    const resume = restart > 0 || !!findCondition(job.status?.conditions, 'Running');
    const creates: Promise<boolean>[] = [];
    for (let index = 0; index < workers; index++) {
      if (have.has(String(index))) continue;
      const pod = buildWorkerPod(job, { index, workers, restart, resume }, this.options);
      const id = `${keyOf(job)}#${pod.metadata!.name}`;
      if (this.created.has(id)) continue;
      this.created.set(id, now);
      creates.push(this.kube.createPod(pod));
    }
    if (creates.length) this.log.debug({ job: keyOf(job), pods: creates.length }, 'creating workers');
    await Promise.all(creates);
  }

  /**
   * Deletes pods with the grace period; a pod bound to a node that no longer exists is deleted at once
   * (again, if it is already terminating): no kubelet is left to confirm a graceful deletion, and the
   * pod garbage collector would take tens of seconds, holding up the relaunch of the gang.
   */
  private async deletePods(pods: V1Pod[]): Promise<void> {
    const orphaned = (p: V1Pod) => !!p.spec?.nodeName && !this.ctx.nodeExists(p.spec.nodeName);
    await Promise.all(
      pods
        .filter((p) => !p.metadata?.deletionTimestamp || orphaned(p))
        .map((p) =>
          this.kube.deletePod(
            p.metadata!.namespace!,
            p.metadata!.name!,
            p.metadata!.uid,
            orphaned(p) ? 0 : this.options.podGracePeriodSeconds,
          ),
        ),
    );
  }
}

export { RESTART_LABEL };

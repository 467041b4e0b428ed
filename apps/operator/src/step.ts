// One reconcile step: what a phase handler decided (the new status, the phase transition and its event,
// the actions that follow) and the runner that applies it: status written once, guarded by the job's
// resourceVersion when the phase changes, then the actions. A step whose write conflicts does nothing
// else: the next pass decides again from a fresh copy.

import { isConflict, isNotFound } from '@kiln/kube';
import { LABELS, type TrainingJob, type TrainingJobPhase, type TrainingJobStatus } from '@kiln/spec';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { type ClusterView, keyOf } from './admission.js';
import { buildService, buildWorkerPod, type ChildOptions } from './children.js';
import { enterPhase, findCondition } from './conditions.js';
import type { EventRecorder } from './events.js';
import type { Expectations } from './expectations.js';
import type { KubeClient } from './kube.js';
import type { Log } from './log.js';
import type { Prometheus } from './prometheus.js';
import type { Provisioner } from './provisioner.js';
import type { ProvisioningPlan } from './provisioning.js';

export interface ReconcileContext extends ClusterView {
  job(key: string): TrainingJob | undefined;
  nodeExists(name: string): boolean;
  /** The job's headless Service as the cache shows it (owned by this job), if it exists. */
  serviceOf(job: TrainingJob): V1Service | undefined;
  /** When this process first saw the pod Failed (ms), if it did. */
  failedSince(pod: V1Pod): number | undefined;
  remember(job: TrainingJob): void;
  reserve(key: string, workers: number | undefined): void;
  /** capacity provisioning through ProvisioningRequests (off where the CRD is missing) */
  provisioner: Provisioner;
}

export interface StepRunnerOptions extends ChildOptions {
  /** Grace period for worker pods the operator deletes. */
  podGracePeriodSeconds: number;
}

export type Action =
  | { kind: 'deletePods'; pods: V1Pod[] }
  | { kind: 'ensureService' }
  | { kind: 'createWorkers'; workers: number; existing: V1Pod[]; annotations?: Record<string, string> }
  /** create/delete the job's ProvisioningRequests; `workers`: the gang size its pod template is for */
  | { kind: 'provisioning'; plan: ProvisioningPlan; workers: number }
  | { kind: 'deleteJob' };

export interface Transition {
  from: TrainingJobPhase;
  to: TrainingJobPhase;
  reason: string;
  message: string;
}

export interface Step {
  job: TrainingJob;
  /** the job's pods as the cache showed them when the pass began */
  pods: V1Pod[];
  now: Date;
  status: TrainingJobStatus;
  /** the phase change this step makes, if any: recorded as an Event once the status is written */
  transition?: Transition;
  actions: Action[];
  requeueAfterMs?: number;
  /** capacity held for the job's admitted gang: a number reserves it (undone if the write fails), null frees it */
  reserve?: number | null;
}

/** The step a pass starts from: the job's status as stored, with the workers' counts as observed. */
export function beginStep(job: TrainingJob, pods: V1Pod[], now: Date): Step {
  const status: TrainingJobStatus = structuredClone(job.status ?? {});
  const workers = { ready: 0, running: 0, succeeded: 0, failed: 0 };
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase === 'Running') workers.running++;
    if (phase === 'Succeeded') workers.succeeded++;
    if (phase === 'Failed') workers.failed++;
    if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) workers.ready++;
  }
  status.workers = workers;
  status.observedGeneration = job.metadata.generation;
  return { job, pods, now, status, actions: [] };
}

/** Moves the step's status into `to`, setting that phase's condition True and the previous one False. */
export function transition(step: Step, to: TrainingJobPhase, reason: string, message: string): void {
  const from = step.status.phase ?? 'Pending';
  const { generation } = step.job.metadata;
  step.status.phase = to;
  step.status.conditions = enterPhase(step.status.conditions, to, reason, message, step.now, generation);
  step.transition = { from, to, reason, message };
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

/** A status write that conflicted or found the job gone: decide again from a fresh copy. */
const RETRY_MS = 200;

export class StepRunner {
  constructor(
    private readonly kube: KubeClient,
    private readonly ctx: ReconcileContext,
    private readonly events: EventRecorder,
    private readonly options: StepRunnerOptions,
    private readonly prometheus: Prometheus,
    private readonly log: Log,
    private readonly expectations: Expectations,
  ) {}

  async run(step: Step): Promise<{ requeueAfterMs?: number }> {
    const { job } = step;
    const key = keyOf(job);
    if (step.reserve !== undefined) this.ctx.reserve(key, step.reserve ?? undefined);
    // A new phase is a new launch (or none): pods created for the previous one are no longer expected.
    if (step.transition) this.expectations.forgetPods(key);
    if (!(await this.write(job, step))) {
      if (typeof step.reserve === 'number') this.ctx.reserve(key, undefined);
      return { requeueAfterMs: RETRY_MS };
    }
    // Actions see the job as just written (restarts, conditions), as the cache now holds it.
    const fresh = this.ctx.job(key) ?? job;
    for (const action of step.actions) {
      if (action.kind === 'deletePods') await this.deletePods(action.pods);
      else if (action.kind === 'ensureService') await this.ensureService(fresh);
      else if (action.kind === 'createWorkers')
        await this.createWorkers(fresh, action.workers, action.existing, action.annotations);
      else if (action.kind === 'provisioning') {
        const { workers } = action;
        await this.ctx.provisioner.apply(fresh, action.plan, () =>
          buildWorkerPod(
            fresh,
            { index: 0, workers, restart: fresh.status?.restarts ?? 0, resume: false },
            this.options,
          ),
        );
      } else {
        this.log.info({ job: key }, 'ttlSecondsAfterFinished elapsed; deleting the job');
        await this.kube.deleteJob(job.metadata.namespace!, job.metadata.name, job.metadata.uid!);
      }
    }
    return step.requeueAfterMs === undefined ? {} : { requeueAfterMs: step.requeueAfterMs };
  }

  /** Writes the fields of status that changed; false on a conflict (stale cache) or a job deleted meanwhile. */
  private async write(job: TrainingJob, step: Step): Promise<boolean> {
    const key = keyOf(job);
    const before = (job.status ?? {}) as Record<string, unknown>;
    const after = step.status as Record<string, unknown>;
    const patch: Record<string, unknown> = {};
    for (const k of STATUS_KEYS) {
      if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) patch[k] = after[k] ?? null;
    }
    if (Object.keys(patch).length === 0) return true;
    const event = step.transition;
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
      this.prometheus.transitions.inc({ phase: event.to });
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
      this.expectations.serviceSeen(key);
      return;
    }
    if (this.expectations.servicePending(key, job.metadata.uid, Date.now())) return;
    await this.kube.createService(buildService(job, this.options));
    this.expectations.serviceCreated(key, job.metadata.uid!, Date.now());
  }

  private async createWorkers(
    job: TrainingJob,
    workers: number,
    existing: V1Pod[],
    annotations?: Record<string, string>,
  ): Promise<void> {
    const key = keyOf(job);
    const have = new Set(existing.map((p) => p.metadata?.labels?.[LABELS.replicaIndex]));
    const now = Date.now();
    this.expectations.expire(now);
    const restart = job.status?.restarts ?? 0;
    // Any launch after one that ran (a restart, a resize, a resume) continues from the checkpoint.
    const resume = restart > 0 || !!findCondition(job.status?.conditions, 'Running');
    const creates: Promise<boolean>[] = [];
    for (let index = 0; index < workers; index++) {
      if (have.has(String(index))) continue;
      const pod = buildWorkerPod(job, { index, workers, restart, resume, annotations }, this.options);
      if (this.expectations.podPending(key, pod.metadata!.name!, now)) continue;
      this.expectations.podCreated(key, pod.metadata!.name!, now);
      creates.push(this.kube.createPod(pod));
    }
    if (creates.length) this.log.debug({ job: key, pods: creates.length }, 'creating workers');
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

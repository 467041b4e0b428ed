// Capacity provisioning for gangs that do not fit, the way Kueue does it: ask the Cluster Autoscaler for
// the whole gang at once with a ProvisioningRequest (class best-effort-atomic-scale-up) over a
// PodTemplate of the workers, and admit the gang only when the request is Provisioned. A gang scheduler
// that just holds pods back never shows the autoscaler a pending pod, so nothing would scale
// (volcano-sh/volcano#2558); pods created piecemeal waste new nodes on partial gangs
// (kubernetes/autoscaler#5170).
//
// This file is the policy only: from the job, the admission decision and the job's requests as they are
// in the API, it says what the job's status should say and which requests to create or delete. All state
// lives in the API objects (names, attempt annotation, conditions), so a restarted operator carries on.
import type { TrainingJob } from '@kiln/spec';
import type { Decision } from './admission.js';

export const PR_GROUP = 'autoscaling.x-k8s.io';
export const PR_VERSION = 'v1';
export const PR_PLURAL = 'provisioningrequests';
export const PR_CLASS = 'best-effort-atomic-scale-up.autoscaling.x-k8s.io';
/** Pod annotations that make the scheduler-side of CA count the pods against the request. */
export const CONSUME_ANNOTATION = 'autoscaling.x-k8s.io/consume-provisioning-request';
export const CLASS_ANNOTATION = 'autoscaling.x-k8s.io/provisioning-class-name';
/** Set on every worker pod: the autoscaler's scale-down never evicts a running gang member. */
export const SAFE_TO_EVICT_ANNOTATION = 'cluster-autoscaler.kubernetes.io/safe-to-evict';
export const JOB_LABEL = 'kiln.dev/provisioning-for';
export const ATTEMPT_ANNOTATION = 'kiln.dev/provisioning-attempt';

export const PROVISIONING_REASON = 'ProvisioningCapacity';
export const PROVISIONED_REASON = 'CapacityProvisioned';
export const RETRY_REASON = 'ProvisioningRetry';

export interface ProvisioningRequest {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    deletionTimestamp?: string;
  };
  spec: { podSets: { count: number; podTemplateRef: { name: string } }[]; provisioningClassName: string };
  status?: {
    conditions?: {
      type: string;
      status: string;
      reason?: string;
      message?: string;
      lastTransitionTime: string;
    }[];
  };
}

export interface ProvisioningOptions {
  /** first wait after a Failed or BookingExpired request; doubles per attempt */
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
}

export const defaultProvisioningOptions: ProvisioningOptions = {
  retryBackoffMs: 5_000,
  maxRetryBackoffMs: 300_000,
};

export interface ProvisioningPlan {
  /** replaces the admission decision when provisioning decides (waiting for, or admitted on, capacity) */
  decision?: Decision;
  /** a request (and its PodTemplate) to create */
  create?: { name: string; workers: number; attempt: number };
  /** requests (and their PodTemplates) no longer needed */
  remove: string[];
  /** the request the admitted pods consume */
  consume?: string;
}

export const attemptOf = (pr: ProvisioningRequest) =>
  Number(pr.metadata.annotations?.[ATTEMPT_ANNOTATION] ?? 0) || 0;

/**
 * The first request for a gang is <job>-cap-1; a retry after Failed/BookingExpired is created (under the
 * next number) before the old one is deleted, so the attempt count survives in the API. Names are
 * deterministic: a pass working from a stale cache creates the same name again (409, harmless) rather
 * than a second request. Once a gang's requests are all deleted, its next wait starts again at 1 (a new
 * object).
 */
export function requestName(job: TrainingJob, attempt: number): string {
  return `${job.metadata.name}-cap-${attempt}`;
}

const condition = (pr: ProvisioningRequest, type: string) =>
  pr.status?.conditions?.find((c) => c.type === type && c.status === 'True');

function waitingMessage(
  workers: number,
  name: string,
  attempt: number,
  why?: { reason?: string; message?: string },
) {
  const ref = `ProvisioningRequest ${name}${attempt > 1 ? `, attempt ${attempt}` : ''}`;
  const detail = why ? `: ${why.reason ?? ''}: ${why.message ?? ''}` : '';
  return `waiting for the cluster autoscaler to provision capacity for ${workers} workers (${ref}${detail})`;
}

const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;

/** Whether the job's requests may go: its gang holds its nodes, or it no longer needs any. */
export function requestsDone(job: TrainingJob, podsBound: boolean): boolean {
  const phase = job.status?.phase ?? 'Pending';
  if (job.metadata.deletionTimestamp || job.spec.runPolicy?.suspend) return true;
  if (phase === 'Starting') return podsBound;
  return !['Pending', 'Queued', 'Restarting'].includes(phase);
}

/**
 * The provisioning step for a waiting job. `decision` is admission's; `workers` the gang size to ask
 * for (elastic jobs: their minimum); `requests` the job's requests in the API.
 */
export function planProvisioning(
  job: TrainingJob,
  decision: Decision | undefined,
  workers: number,
  requests: ProvisioningRequest[],
  now: number,
  options: ProvisioningOptions = defaultProvisioningOptions,
): ProvisioningPlan {
  const live = requests
    .filter((r) => !r.metadata.deletionTimestamp)
    .sort((a, b) => attemptOf(b) - attemptOf(a));
  const all = live.map((r) => r.metadata.name);
  // Fits without new nodes, or waits for another reason (behind another job, cooling off, no
  // priority class): a request would only book nodes nobody uses.
  if (!decision || decision.workers > 0 || decision.reason !== 'InsufficientCapacity') return { remove: all };
  const latest = live[0];
  const older = live.slice(1).map((r) => r.metadata.name);
  if (!latest) {
    const name = requestName(job, 1);
    return {
      create: { name, workers, attempt: 1 },
      remove: [],
      decision: {
        workers: 0,
        reason: PROVISIONING_REASON,
        message: waitingMessage(workers, name, 1),
      },
    };
  }
  const name = latest.metadata.name;
  const attempt = attemptOf(latest);
  const failed = condition(latest, 'Failed') ?? condition(latest, 'BookingExpired');
  if (failed) {
    const backoff = Math.min(
      options.maxRetryBackoffMs,
      options.retryBackoffMs * 2 ** Math.max(0, attempt - 1),
    );
    const left = Date.parse(failed.lastTransitionTime) + backoff - now;
    const next = requestName(job, attempt + 1);
    if (left > 0) {
      return {
        remove: older,
        decision: {
          workers: 0,
          reason: RETRY_REASON,
          message: `ProvisioningRequest ${name} ${failed.type === 'Failed' ? 'failed' : 'expired'} (${failed.reason ?? ''}: ${failed.message ?? ''}); asking again as ${next} in ${seconds(backoff)}`,
          retryInMs: left,
        },
      };
    }
    return {
      create: { name: next, workers, attempt: attempt + 1 },
      remove: [name, ...older],
      decision: {
        workers: 0,
        reason: PROVISIONING_REASON,
        message: waitingMessage(workers, next, attempt + 1),
      },
    };
  }
  const provisioned = condition(latest, 'Provisioned');
  const count = latest.spec.podSets.reduce((s, p) => s + p.count, 0);
  if (provisioned) {
    const waited = now - Date.parse(latest.metadata.creationTimestamp ?? provisioned.lastTransitionTime);
    return {
      remove: older,
      consume: name,
      decision: {
        workers: count,
        reason: PROVISIONED_REASON,
        message: `the cluster autoscaler provisioned capacity for ${count} workers after ${seconds(waited)} (ProvisioningRequest ${name})`,
      },
    };
  }
  const notYet = latest.status?.conditions?.find((c) => c.type === 'Provisioned' && c.status === 'False');
  return {
    remove: older,
    decision: {
      workers: 0,
      reason: PROVISIONING_REASON,
      message: waitingMessage(count, name, attempt, notYet),
    },
  };
}

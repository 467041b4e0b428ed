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
/** What a request is for: `gang` (the workers a waiting job needs to start) or `grow` (more for a running elastic job). */
export const PURPOSE_ANNOTATION = 'kiln.dev/provisioning-purpose';
/** On a `grow` request: the gang size it grows from (a request for another size is stale). */
export const GROW_FROM_ANNOTATION = 'kiln.dev/grow-from';
export type Purpose = 'gang' | 'grow';

export const PROVISIONING_REASON = 'ProvisioningCapacity';
export const PROVISIONED_REASON = 'CapacityProvisioned';
export const RETRY_REASON = 'ProvisioningRetry';
/** The autoscaler's Provisioned=False reason when no node group can take the gang: no nodes are coming. */
export const CAPACITY_NOT_FOUND = 'CapacityIsNotFound';

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

/** How long a request may go unaccepted before the operator concludes no autoscaler is running. */
export const UNSEEN_GRACE_MS = 300_000;

export const defaultProvisioningOptions: ProvisioningOptions = {
  retryBackoffMs: 5_000,
  maxRetryBackoffMs: 300_000,
};

export interface ProvisioningPlan {
  /** replaces the admission decision when provisioning decides (waiting for, or admitted on, capacity) */
  decision?: Decision;
  /** a request (and its PodTemplate) to create; `from`: the gang size a `grow` request grows from */
  create?: { name: string; workers: number; attempt: number; purpose: Purpose; from?: number };
  /** requests (and their PodTemplates) no longer needed */
  remove: string[];
  /** the request the admitted pods consume */
  consume?: string;
}

export const attemptOf = (pr: ProvisioningRequest) =>
  Number(pr.metadata.annotations?.[ATTEMPT_ANNOTATION] ?? 0) || 0;
export const purposeOf = (pr: ProvisioningRequest): Purpose =>
  pr.metadata.annotations?.[PURPOSE_ANNOTATION] === 'grow' ? 'grow' : 'gang';
export const growFromOf = (pr: ProvisioningRequest) =>
  Number(pr.metadata.annotations?.[GROW_FROM_ANNOTATION] ?? 0) || 0;
const countOf = (pr: ProvisioningRequest) => pr.spec.podSets.reduce((s, p) => s + p.count, 0);

/**
 * The first request for a gang is <job>-cap-1 (for growing: <job>-grow-1); a retry after
 * Failed/BookingExpired is created (under the next number) before the old one is deleted, so the attempt
 * count survives in the API. Names are deterministic: a pass working from a stale cache creates the same
 * name again (409, harmless) rather than a second request. Once a job's requests are all deleted, its
 * next wait starts again at 1 (a new object).
 */
export function requestName(job: TrainingJob, attempt: number, purpose: Purpose = 'gang'): string {
  return `${job.metadata.name}-${purpose === 'gang' ? 'cap' : 'grow'}-${attempt}`;
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

/** Live requests of one purpose, newest attempt first. */
function liveOf(requests: ProvisioningRequest[], purpose: Purpose): ProvisioningRequest[] {
  return requests
    .filter((r) => !r.metadata.deletionTimestamp && purposeOf(r) === purpose)
    .sort((a, b) => attemptOf(b) - attemptOf(a));
}
const names = (rs: ProvisioningRequest[]) => rs.map((r) => r.metadata.name);

/** Where a job's newest request of one purpose stands. */
type RequestState =
  | { kind: 'none' }
  /** Failed or BookingExpired: wait `leftMs`, then ask again as `next` */
  | { kind: 'backoff'; name: string; next: string; leftMs: number; message: string }
  | { kind: 'retry'; name: string; next: string; attempt: number }
  | { kind: 'provisioned'; name: string; count: number; waitedMs: number }
  /** the autoscaler found no node group for it (Provisioned=False, CapacityIsNotFound): no nodes coming */
  | {
      kind: 'refused';
      name: string;
      count: number;
      attempt: number;
      why: { reason?: string; message?: string };
    }
  /** no autoscaler has taken it up (not Accepted, no Provisioned condition, for UNSEEN_GRACE_MS) */
  | { kind: 'unseen'; name: string; count: number; attempt: number; why?: undefined }
  | {
      kind: 'pending';
      name: string;
      count: number;
      attempt: number;
      why?: { reason?: string; message?: string };
    };

function stateOf(
  job: TrainingJob,
  latest: ProvisioningRequest | undefined,
  purpose: Purpose,
  now: number,
  options: ProvisioningOptions,
): RequestState {
  if (!latest) return { kind: 'none' };
  const name = latest.metadata.name;
  const attempt = attemptOf(latest);
  const count = countOf(latest);
  const failed = condition(latest, 'Failed') ?? condition(latest, 'BookingExpired');
  if (failed) {
    const backoff = Math.min(
      options.maxRetryBackoffMs,
      options.retryBackoffMs * 2 ** Math.max(0, attempt - 1),
    );
    const leftMs = Date.parse(failed.lastTransitionTime) + backoff - now;
    const next = requestName(job, attempt + 1, purpose);
    if (leftMs > 0) {
      const what = failed.type === 'Failed' ? 'failed' : 'expired';
      const message = `ProvisioningRequest ${name} ${what} (${failed.reason ?? ''}: ${failed.message ?? ''}); asking again as ${next} in ${seconds(backoff)}`;
      return { kind: 'backoff', name, next, leftMs, message };
    }
    return { kind: 'retry', name, next, attempt: attempt + 1 };
  }
  const provisioned = condition(latest, 'Provisioned');
  if (provisioned) {
    const since = Date.parse(latest.metadata.creationTimestamp ?? provisioned.lastTransitionTime);
    return { kind: 'provisioned', name, count, waitedMs: now - since };
  }
  const notYet = latest.status?.conditions?.find((c) => c.type === 'Provisioned' && c.status === 'False');
  if (notYet?.reason === CAPACITY_NOT_FOUND) return { kind: 'refused', name, count, attempt, why: notYet };
  // CA takes requests up one per loop: only one unaccepted for minutes means no autoscaler is running.
  const age = now - Date.parse(latest.metadata.creationTimestamp ?? '');
  if (!notYet && !condition(latest, 'Accepted') && age > UNSEEN_GRACE_MS) {
    return { kind: 'unseen', name, count, attempt };
  }
  return { kind: 'pending', name, count, attempt, why: notYet };
}

/**
 * Whether a request may go. Gang requests: once the gang holds its nodes (pods bound), or the job no
 * longer waits. Grow requests: once the grown gang (a world larger than the one it grew from) is bound,
 * or the job ended. Any request: once the job is suspended or deleted (kueue#12654 leaked them).
 */
export function requestDone(
  job: TrainingJob,
  pr: ProvisioningRequest,
  podsBound: boolean,
  world: number | undefined,
): boolean {
  const phase = job.status?.phase ?? 'Pending';
  if (job.metadata.deletionTimestamp || job.spec.runPolicy?.suspend) return true;
  if (purposeOf(pr) === 'grow') {
    if (phase === 'Starting' || phase === 'Running') return podsBound && (world ?? 0) > growFromOf(pr);
    return !['Pending', 'Queued', 'Restarting'].includes(phase);
  }
  if (phase === 'Starting') return podsBound;
  return !['Pending', 'Queued', 'Restarting'].includes(phase);
}

/** Reasons admission gives that mean "not now, and new nodes would not help": requests go. */
const ASKING = new Set(['InsufficientCapacity', 'WaitingInLine']);

/**
 * The provisioning step for a waiting job. `decision` is admission's; `workers` the gang size to ask
 * for (elastic: the minimum); `requests` the job's requests in the API.
 *
 * The order, as in Kueue's ProvisioningRequest admission check (an admission check gates admission:
 * kubernetes-sigs/kueue pkg/controller/admissionchecks/provisioning/controller_test.go):
 * - A gang that does not fit asks for all its workers at once, and is admitted when the request is
 *   Provisioned; its pods consume the request ("when request is provisioned").
 * - A request in flight wins over admission's "it fits now": the nodes the autoscaler is bringing are
 *   this gang's, and pods that do not consume the request could make it scale up a second time. Only a
 *   request the autoscaler refused (CapacityIsNotFound: no nodes coming), one that failed, or one no
 *   autoscaler has accepted for UNSEEN_GRACE_MS gives way to room that appeared elsewhere.
 * - A job behind another in line that does not fit what is left asks for its own nodes (a second queued
 *   job triggers its own scale-up) and is admitted on them; one that fits what is left waits its turn.
 * - Failed or BookingExpired before admission: retried with backoff under a new name ("when request
 *   fails and is retried", "workload retries the admission check when is not admitted and receives the
 *   provisioning request's BookingExpired condition").
 * - Cooling off, no priority class: requests go ("remove unnecessary requests").
 * - A Provisioned grow request (a running elastic job grew onto it) is what the relaunched gang consumes.
 */
export function planProvisioning(
  job: TrainingJob,
  decision: Decision | undefined,
  workers: number,
  requests: ProvisioningRequest[],
  now: number,
  options: ProvisioningOptions = defaultProvisioningOptions,
): ProvisioningPlan {
  const gang = liveOf(requests, 'gang');
  const grow = liveOf(requests, 'grow');
  if (!decision || !(decision.workers > 0 || ASKING.has(decision.reason))) {
    return { remove: names([...gang, ...grow]) };
  }
  const fits = decision.workers > 0;
  const growing = fits ? grow.find((r) => condition(r, 'Provisioned') && !condition(r, 'Failed')) : undefined;
  const dropGrow = names(grow.filter((r) => r !== growing));
  const older = names(gang.slice(1));
  const state = stateOf(job, gang[0], 'gang', now, options);
  // Room appeared elsewhere and no nodes are coming for this gang (none asked for, failed, refused, or
  // no autoscaler has taken the request up): admission's decision stands.
  const nothingComing = ['none', 'backoff', 'retry', 'refused', 'unseen'].includes(state.kind);
  if (fits && nothingComing) {
    return { remove: [...names(gang), ...dropGrow], ...(growing ? { consume: growing.metadata.name } : {}) };
  }
  if (state.kind === 'provisioned') {
    const admit = Math.max(state.count, decision.workers);
    return {
      remove: [...older, ...dropGrow],
      consume: state.name,
      decision: {
        workers: admit,
        reason: PROVISIONED_REASON,
        message: `the cluster autoscaler provisioned capacity for ${state.count} workers after ${seconds(state.waitedMs)} (ProvisioningRequest ${state.name})`,
      },
    };
  }
  if (state.kind === 'pending' || state.kind === 'refused' || state.kind === 'unseen') {
    return {
      remove: [...older, ...dropGrow],
      decision: {
        workers: 0,
        reason: PROVISIONING_REASON,
        message: waitingMessage(state.count, state.name, state.attempt, state.why),
      },
    };
  }
  // Waiting its turn behind another job, in room that exists: no new request (a failed one goes).
  if (decision.reason === 'WaitingInLine') return { remove: [...names(gang), ...dropGrow] };
  if (state.kind === 'none') {
    const name = requestName(job, 1);
    return {
      create: { name, workers, attempt: 1, purpose: 'gang' },
      remove: dropGrow,
      decision: { workers: 0, reason: PROVISIONING_REASON, message: waitingMessage(workers, name, 1) },
    };
  }
  if (state.kind === 'backoff') {
    return {
      remove: [...older, ...dropGrow],
      decision: { workers: 0, reason: RETRY_REASON, message: state.message, retryInMs: state.leftMs },
    };
  }
  return {
    create: { name: state.next, workers, attempt: state.attempt, purpose: 'gang' },
    remove: [state.name, ...older, ...dropGrow],
    decision: {
      workers: 0,
      reason: PROVISIONING_REASON,
      message: waitingMessage(workers, state.next, state.attempt),
    },
  };
}

/** Whether the job's newest gang request is Provisioned (and not failed or expired). */
export function gangProvisioned(
  requests: ProvisioningRequest[],
  now: number,
  job: TrainingJob,
  options: ProvisioningOptions = defaultProvisioningOptions,
): boolean {
  return stateOf(job, liveOf(requests, 'gang')[0], 'gang', now, options).kind === 'provisioned';
}

/**
 * The least size a running elastic job of `world` workers should relaunch at while it has a grow request:
 * in flight, none yet (Infinity: the request wins over room appearing, as for gangs — the nodes the
 * autoscaler registers show up before it writes Provisioned=True); provisioned, all of the room asked for
 * (nodes register one by one: relaunching on the first would restart the gang once per node, and the
 * later relaunches could no longer consume the request). Undefined (any growth) when no nodes are coming:
 * no grow request, or one failed, refused or not accepted by any autoscaler.
 */
export function growingTo(
  job: TrainingJob,
  requests: ProvisioningRequest[],
  world: number,
  now: number,
  options: ProvisioningOptions = defaultProvisioningOptions,
): number | undefined {
  const grow = liveOf(requests, 'grow')[0];
  if (!grow || growFromOf(grow) !== world) return undefined;
  const state = stateOf(job, grow, 'grow', now, options);
  if (state.kind === 'provisioned') return world + state.count;
  return state.kind === 'pending' ? Number.POSITIVE_INFINITY : undefined;
}

/** What a running elastic job asks for to grow: `message` (for an event) when it asks. */
export interface GrowthPlan extends ProvisioningPlan {
  message?: string;
  /** look again after this long (a failed request's backoff) */
  retryInMs?: number;
}

/**
 * A running elastic job below its maximum, past its cool-off, with no room to grow and nobody waiting
 * (`canGrow`): one `grow` request for the workers it lacks; when the autoscaler has provisioned them, the
 * room is there and the job grows as it does onto any free room (a ScaleUp relaunch that consumes the
 * request). A request for another gang size is stale and replaced; failures retry with backoff as for
 * gangs; with `canGrow` false (a job is waiting: it comes first) the job's grow requests go.
 */
export function planGrowth(
  job: TrainingJob,
  world: number,
  maxWorkers: number,
  canGrow: boolean,
  requests: ProvisioningRequest[],
  now: number,
  options: ProvisioningOptions = defaultProvisioningOptions,
): GrowthPlan {
  const grow = liveOf(requests, 'grow');
  if (!canGrow || world >= maxWorkers) return { remove: names(grow) };
  const extra = maxWorkers - world;
  const latest = grow[0];
  const older = names(grow.slice(1));
  const ask = (attempt: number, remove: string[]): GrowthPlan => {
    const name = requestName(job, attempt, 'grow');
    return {
      create: { name, workers: extra, attempt, purpose: 'grow', from: world },
      remove,
      message: `asking the cluster autoscaler for ${extra} more workers to grow from ${world} to ${maxWorkers} (ProvisioningRequest ${name})`,
    };
  };
  if (latest && growFromOf(latest) !== world) return ask(attemptOf(latest) + 1, names(grow));
  const state = stateOf(job, latest, 'grow', now, options);
  if (state.kind === 'none') return ask(1, []);
  if (state.kind === 'retry') return ask(state.attempt, [state.name, ...older]);
  if (state.kind === 'backoff') return { remove: older, retryInMs: state.leftMs };
  return { remove: older };
}

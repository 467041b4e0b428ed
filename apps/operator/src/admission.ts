// Gang admission. Jobs waiting to run are considered in order (highest priority first, then restarting
// jobs, then oldest first); each is admitted only if all its workers (at least elastic.minWorkers) fit in what is free
// after the jobs already admitted and the ones ahead of it. A job that does not fit blocks those behind
// it, so a large job is not starved by a stream of small ones. Admission is computed and recorded
// synchronously, so two reconciles in one process never admit against the same free capacity. A job
// released by its gang timeout sits out for as long as that timeout before it is admitted again, and
// blocks no one meanwhile: the room it could not use goes to the jobs behind it.

import type { TrainingJob } from '@kiln/spec';
import type { V1Node, V1Pod, V1PriorityClass } from '@kubernetes/client-node';
import { demandOf, freeRoom, holdsResources, type NodeRoom, place, shortage } from './capacity.js';
import { WORLD_LABEL } from './children.js';
import { findCondition } from './conditions.js';
import { resolvePriority } from './priority.js';

export interface Decision {
  workers: number;
  reason: string;
  message: string;
  /** When to look again without a capacity change (a gang timeout's cool-off). */
  retryInMs?: number;
}

export const DEFAULT_GANG_TIMEOUT_SECONDS = 300;
export const gangTimeoutMs = (job: TrainingJob) =>
  (job.spec.scheduling?.gangTimeoutSeconds ?? DEFAULT_GANG_TIMEOUT_SECONDS) * 1000;

/** A job released by its gang timeout, still inside the cool-off that follows: the decision to keep. */
function coolingOff(job: TrainingJob, now: number): Decision | undefined {
  const queued = findCondition(job.status?.conditions, 'Queued');
  if (job.status?.phase !== 'Queued' || queued?.status !== 'True' || queued.reason !== 'GangTimeout') return;
  const left = Date.parse(queued.lastTransitionTime) + gangTimeoutMs(job) - now;
  if (!(left > 0)) return;
  return { workers: 0, reason: queued.reason, message: queued.message ?? '', retryInMs: left };
}

export const keyOf = (job: TrainingJob) => `${job.metadata.namespace}/${job.metadata.name}`;

const WAITING = new Set(['Pending', 'Queued', 'Restarting']);
const ACTIVE = new Set(['Starting', 'Running']);

/** Whether the job holds (or is about to hold) the room it was admitted with. */
export const isActive = (job: TrainingJob) => ACTIVE.has(job.status?.phase ?? '');

export function isWaiting(job: TrainingJob): boolean {
  return (
    WAITING.has(job.status?.phase ?? 'Pending') &&
    !job.spec.runPolicy?.suspend &&
    !job.metadata.deletionTimestamp
  );
}

/** Worker pods a job runs with when it gets all it asks for. */
export function wantedWorkers(job: TrainingJob): { min: number; max: number } {
  if (job.spec.elastic) return { min: job.spec.elastic.minWorkers, max: job.spec.elastic.maxWorkers };
  const n = job.spec.workers ?? 1;
  return { min: n, max: n };
}

function clone(rooms: NodeRoom[]): NodeRoom[] {
  return rooms.map((r) => ({ ...r, free: new Map(r.free) }));
}

export interface ClusterView {
  jobs: TrainingJob[];
  nodes: V1Node[];
  pods: V1Pod[];
  /** The cluster's PriorityClasses (none: every job has priority 0). */
  priorityClasses?: V1PriorityClass[];
  podsOf(job: TrainingJob): V1Pod[];
  /** Workers admitted by this process whose pods may not be visible yet. */
  reserved(key: string): number | undefined;
}

/** How many workers a running (or starting) job holds or is about to hold. */
export function admittedWorkers(view: ClusterView, job: TrainingJob): number {
  const fromPods = view.podsOf(job).find((p) => p.metadata?.labels?.[WORLD_LABEL])?.metadata?.labels?.[
    WORLD_LABEL
  ];
  return view.reserved(keyOf(job)) ?? (fromPods ? Number(fromPods) : wantedWorkers(job).max);
}

interface InLine {
  job: TrainingJob;
  priority: number;
}

function order(a: InLine, b: InLine): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  const ra = a.job.status?.phase === 'Restarting' ? 0 : 1;
  const rb = b.job.status?.phase === 'Restarting' ? 0 : 1;
  if (ra !== rb) return ra - rb;
  const ta = Date.parse(a.job.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.job.metadata.creationTimestamp ?? '') || 0;
  return ta - tb || keyOf(a.job).localeCompare(keyOf(b.job));
}

/** Free room after every admitted job has what it was promised (`except` is left out). */
function roomAfterAdmitted(view: ClusterView, except?: TrainingJob): NodeRoom[] {
  const exceptUid = except?.metadata.uid;
  const pods = exceptUid
    ? view.pods.filter((p) => !p.metadata?.ownerReferences?.some((o) => o.uid === exceptUid))
    : view.pods;
  const rooms = freeRoom(view.nodes, pods);
  for (const job of view.jobs) {
    if (!ACTIVE.has(job.status?.phase ?? '') || job.metadata.uid === exceptUid) continue;
    const holding = view.podsOf(job).filter(holdsResources).length;
    const pending = admittedWorkers(view, job) - holding;
    if (pending > 0) place(rooms, demandOf(job.spec.resources), pending, placementOf(job), false);
  }
  return rooms;
}

function placementOf(job: TrainingJob) {
  return {
    nodeSelector: job.spec.scheduling?.nodeSelector,
    tolerations: job.spec.scheduling?.tolerations as never,
  };
}

/** Tries to place the job in `rooms` (taking the room on success); returns the workers placed. */
function tryJob(rooms: NodeRoom[], job: TrainingJob): number {
  const { min, max } = wantedWorkers(job);
  const demand = demandOf(job.spec.resources);
  const trial = clone(rooms);
  const n = place(trial, demand, max, placementOf(job), false);
  if (n < min) return 0;
  for (let i = 0; i < rooms.length; i++) rooms[i]!.free = trial[i]!.free;
  return n;
}

/** Capacity provisioning as admission sees it (absent where it is off). */
export interface ProvisioningView {
  /** whether the autoscaler has provisioned capacity for this waiting job's gang */
  provisioned(job: TrainingJob): boolean;
}

/**
 * The admission decision for every waiting job. With `provisioning` (capacity provisioning on):
 * - a job behind the first one that does not fit, and that does not fit what is left either, is told
 *   InsufficientCapacity rather than WaitingInLine: new nodes would be its own, so it may ask for them
 *   without taking room from the jobs ahead. One that fits what is left still waits its turn.
 * - jobs whose capacity the autoscaler has provisioned go first: the new nodes were booked for them, so
 *   the jobs ahead in the usual order must not be admitted onto them.
 */
export function planAdmission(
  view: ClusterView,
  now = Date.now(),
  provisioning?: ProvisioningView,
): Map<string, Decision> {
  const askBehind = provisioning !== undefined;
  const rooms = roomAfterAdmitted(view);
  const decisions = new Map<string, Decision>();
  const line: InLine[] = [];
  for (const job of view.jobs.filter(isWaiting)) {
    const cooling = coolingOff(job, now);
    if (cooling) {
      decisions.set(keyOf(job), cooling);
      continue;
    }
    const priority = resolvePriority(job, view.priorityClasses ?? []);
    // A job whose priority class is missing cannot start; it waits outside the line, blocking no one.
    if ('error' in priority) {
      decisions.set(keyOf(job), { workers: 0, reason: 'PriorityClassNotFound', message: priority.error });
    } else line.push({ job, priority: priority.value });
  }
  let blocker: TrainingJob | undefined;
  const booked = (x: InLine) => (provisioning?.provisioned(x.job) ? 0 : 1);
  for (const { job } of line.sort((a, b) => booked(a) - booked(b) || order(a, b))) {
    const key = keyOf(job);
    if (blocker) {
      if (askBehind && tryJob(clone(rooms), job) === 0) {
        decisions.set(key, insufficient(rooms, job));
        continue;
      }
      decisions.set(key, {
        workers: 0,
        reason: 'WaitingInLine',
        message: `waiting for ${blocker.metadata.name}, which is ahead in the queue`,
      });
      continue;
    }
    const workers = tryJob(rooms, job);
    if (workers > 0) {
      decisions.set(key, { workers, reason: 'GangAdmitted', message: `all ${workers} workers fit` });
    } else {
      decisions.set(key, insufficient(rooms, job));
      blocker = job;
    }
  }
  return decisions;
}

function insufficient(rooms: NodeRoom[], job: TrainingJob): Decision {
  const { min } = wantedWorkers(job);
  return {
    workers: 0,
    reason: 'InsufficientCapacity',
    message: `${min} workers do not fit: ${shortage(rooms, demandOf(job.spec.resources), min)}`,
  };
}

/** How many workers of this job fit now, counting its own pods' resources as free. */
export function fitNow(view: ClusterView, job: TrainingJob): number {
  return tryJob(roomAfterAdmitted(view, job), job);
}

/** For a running elastic job: how many workers would fit if it restarted now (nothing is waiting). */
export function elasticTarget(view: ClusterView, job: TrainingJob): number {
  if (!job.spec.elastic || view.jobs.some(isWaiting)) return 0;
  return tryJob(roomAfterAdmitted(view, job), job);
}

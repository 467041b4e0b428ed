// Failure policy for a launched gang: which pod failures are causes and which their effects, whether the
// cause is retryable, and whether the job restarts (after a backoff) or fails. Pure: the reconciler
// applies the verdicts.
import { EXIT_CODE } from '@kiln/spec';
import type { V1Pod } from '@kubernetes/client-node';

/** How long peers' "peer lost" exits (75) wait for the failure that caused them to be reported. */
export const CAUSE_GRACE_MS = 3_000;
/** Retryable failures within this long of the first cause count as one event (a preemption taking several workers). */
const SIMULTANEOUS_MS = 1_000;

export interface Failure {
  code?: number;
  pod: string;
  retryable: boolean;
  reason: string;
  message: string;
  /** ms since the epoch */
  at: number;
}

/** Why `pod` failed, or undefined while it has not. `seenFailedAt`: when this process first saw it Failed. */
export function podFailure(
  pod: V1Pod,
  retryOn: readonly number[],
  nodeExists: (name: string) => boolean,
  seenFailedAt: number | undefined,
  now = Date.now(),
): Failure | undefined {
  const name = pod.metadata!.name!;
  const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
  // finishedAt has whole seconds only; when this process saw the failure arrive orders it finer.
  const at = seenFailedAt ?? (Date.parse(terminated?.finishedAt as unknown as string) || now);
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

/** The failures among a gang's pods, earliest first. */
export function gangFailures(
  pods: readonly V1Pod[],
  retryOn: readonly number[],
  nodeExists: (name: string) => boolean,
  failedSince: (pod: V1Pod) => number | undefined,
  now: number,
): Failure[] {
  return pods
    .map((p) => podFailure(p, retryOn, nodeExists, failedSince(p), now))
    .filter((f): f is Failure => !!f)
    .sort((a, b) => a.at - b.at);
}

/** What the failures seen in a gang mean. */
export type GangFailureVerdict =
  | { kind: 'healthy' }
  /** Only effects (exit 75) so far while peers still run: the cause may not be reported yet. */
  | { kind: 'awaitCause'; waitMs: number }
  | { kind: 'failed'; cause: Failure };

/**
 * The first failure is the cause; peers failing because it left (exit 75) are its effect, and retryable
 * failures within a second of it count as simultaneous. Workers missing from a Running gang (deleted
 * with no trace) are a retryable loss.
 */
export function judgeGangFailures(input: {
  /** sorted by `at` */
  failures: readonly Failure[];
  /** indices of workers with no pod */
  missing: readonly number[];
  running: boolean;
  /** whether any pod is still Running or Pending */
  live: boolean;
  now: number;
}): GangFailureVerdict {
  const { failures, missing, now } = input;
  if (failures.length === 0 && !(input.running && missing.length > 0)) return { kind: 'healthy' };
  const causes = failures.filter((f) => f.code !== EXIT_CODE.peerLost);
  // Pod statuses arrive in any order: wait a moment for the peer that left, so a permanent failure
  // is not taken for a retryable one.
  const effectSince = failures.length > 0 ? now - failures[0]!.at : 0;
  if (failures.length > 0 && causes.length === 0 && input.live && effectSince < CAUSE_GRACE_MS) {
    return { kind: 'awaitCause', waitMs: CAUSE_GRACE_MS - effectSince };
  }
  const first = causes[0] ?? failures[0];
  if (!first) {
    return {
      kind: 'failed',
      cause: {
        pod: '',
        retryable: true,
        reason: 'WorkerLost',
        message: `worker(s) ${missing.join(', ')} disappeared`,
        at: 0,
      },
    };
  }
  const simultaneousRetryable = causes.some((f) => f.retryable && f.at - first.at <= SIMULTANEOUS_MS);
  return { kind: 'failed', cause: { ...first, retryable: first.retryable || simultaneousRetryable } };
}

export type RestartDecision =
  | { restart: true; restarts: number; reason: string; message: string }
  | { restart: false; reason: string; message: string };

/** Restart the whole gang for a retryable cause while restarts remain; fail it otherwise. */
export function restartOrFail(cause: Failure, restarts: number, maxRestarts: number): RestartDecision {
  if (!cause.retryable) return { restart: false, reason: cause.reason, message: cause.message };
  if (restarts >= maxRestarts) {
    return {
      restart: false,
      reason: 'RestartLimitExceeded',
      message: `${cause.message}; already restarted ${restarts} of ${maxRestarts} times`,
    };
  }
  return {
    restart: true,
    restarts: restarts + 1,
    reason: cause.reason,
    message: `${cause.message}; restarting the whole gang (restart ${restarts + 1} of ${maxRestarts})`,
  };
}

/** Delay before relaunching after the `restarts`-th restart: doubles each time, capped. */
export function restartBackoffMs(restarts: number, baseMs: number, maxMs: number): number {
  if (restarts <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** (restarts - 1));
}

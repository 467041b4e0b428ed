// The failure policy (cause vs effect, restart or fail) on plain pod objects, like admission.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CAUSE_GRACE_MS,
  gangFailures,
  judgeGangFailures,
  podFailure,
  restartBackoffMs,
  restartOrFail,
} from '../src/failure-policy.js';
import { pod } from './policy-fixtures.js';

const RETRY = [137, 143];
const everyNode = () => true;
const T0 = Date.parse('2026-01-01T00:00:00Z');

test('pod failures: exit codes in retryOnExitCodes and 75 are retryable, others permanent', () => {
  assert.equal(podFailure(pod('w0', { phase: 'Running' }), RETRY, everyNode, undefined), undefined);
  assert.equal(
    podFailure(pod('w0', { phase: 'Succeeded', exitCode: 0 }), RETRY, everyNode, undefined),
    undefined,
  );
  const preempted = podFailure(pod('w0', { phase: 'Failed', exitCode: 143 }), RETRY, everyNode, undefined);
  assert.deepEqual([preempted?.retryable, preempted?.reason, preempted?.at], [true, 'RetryableExitCode', T0]);
  const peerLost = podFailure(pod('w1', { phase: 'Failed', exitCode: 75 }), RETRY, everyNode, T0 + 5);
  assert.deepEqual([peerLost?.retryable, peerLost?.code, peerLost?.at], [true, 75, T0 + 5]);
  const crashed = podFailure(pod('w0', { phase: 'Failed', exitCode: 1 }), RETRY, everyNode, undefined);
  assert.equal(crashed?.retryable, false);
  assert.match(crashed?.message ?? '', /w0 exited with code 1, not one of retryOnExitCodes \[137, 143\]/);
});

test('pod failures: disruption, eviction, deletion and a lost node are always retryable', () => {
  const cases = [
    [
      pod('a', { phase: 'Failed', exitCode: 1, disrupted: 'PreemptionByScheduler' }),
      'WorkerLost',
      /disrupted/,
    ],
    [pod('b', { phase: 'Failed', reason: 'Evicted' }), 'WorkerLost', /b failed: Evicted/],
    [pod('c', { deleting: true }), 'WorkerLost', /c was deleted/],
    [pod('d', { node: 'gone' }), 'NodeLost', /d's node gone is gone/],
  ] as const;
  for (const [p, reason, message] of cases) {
    const f = podFailure(p, RETRY, (n) => n !== 'gone', undefined);
    assert.equal(f?.retryable, true, p.metadata?.name);
    assert.equal(f?.reason, reason);
    assert.match(f?.message ?? '', message);
  }
});

test('the first failure that is not a lost peer is the cause', () => {
  const failures = gangFailures(
    [
      pod('w1', { phase: 'Failed', exitCode: 75 }),
      pod('w0', { phase: 'Failed', exitCode: 1 }),
      pod('w2', { phase: 'Running' }),
    ],
    RETRY,
    everyNode,
    (p) => (p.metadata?.name === 'w1' ? T0 + 10 : T0 + 20),
    T0 + 30,
  );
  assert.deepEqual(
    failures.map((f) => f.pod),
    ['w1', 'w0'],
    'earliest first',
  );
  const v = judgeGangFailures({ failures, missing: [], running: true, live: true, now: T0 + 30 });
  assert.equal(v.kind, 'failed');
  assert.equal(v.kind === 'failed' && v.cause.pod, 'w0', 'the crash, not the peer that noticed it');
  assert.equal(v.kind === 'failed' && v.cause.retryable, false);
});

test('only lost peers while others run: wait up to the grace period for the cause, then restart', () => {
  const failures = gangFailures(
    [pod('w1', { phase: 'Failed', exitCode: 75 })],
    RETRY,
    everyNode,
    () => T0,
    T0,
  );
  const early = judgeGangFailures({ failures, missing: [], running: true, live: true, now: T0 + 1000 });
  assert.deepEqual(early, { kind: 'awaitCause', waitMs: CAUSE_GRACE_MS - 1000 });
  const late = judgeGangFailures({
    failures,
    missing: [],
    running: true,
    live: true,
    now: T0 + CAUSE_GRACE_MS,
  });
  assert.equal(late.kind === 'failed' && late.cause.retryable, true);
  const allGone = judgeGangFailures({ failures, missing: [], running: true, live: false, now: T0 + 1 });
  assert.equal(allGone.kind, 'failed', 'nobody left to report a cause');
});

test('a retryable failure within a second of a permanent one makes the event retryable (a preemption)', () => {
  const failures = gangFailures(
    [pod('w0', { phase: 'Failed', exitCode: 1 }), pod('w1', { phase: 'Failed', exitCode: 143 })],
    RETRY,
    everyNode,
    (p) => (p.metadata?.name === 'w0' ? T0 : T0 + 800),
    T0 + 900,
  );
  const v = judgeGangFailures({ failures, missing: [], running: true, live: false, now: T0 + 900 });
  assert.equal(v.kind === 'failed' && v.cause.pod, 'w0');
  assert.equal(v.kind === 'failed' && v.cause.retryable, true);
});

test('workers missing from a running gang are a retryable loss; from a starting one they are not yet', () => {
  const running = judgeGangFailures({ failures: [], missing: [1], running: true, live: true, now: T0 });
  assert.equal(running.kind === 'failed' && running.cause.message, 'worker(s) 1 disappeared');
  assert.equal(running.kind === 'failed' && running.cause.retryable, true);
  assert.deepEqual(judgeGangFailures({ failures: [], missing: [1], running: false, live: true, now: T0 }), {
    kind: 'healthy',
  });
});

test('restart while restarts remain, with a doubling capped backoff; fail otherwise', () => {
  const cause = {
    pod: 'w0',
    retryable: true,
    reason: 'RetryableExitCode',
    message: 'w0 exited with code 143',
    at: 0,
  };
  assert.deepEqual(restartOrFail(cause, 0, 3), {
    restart: true,
    restarts: 1,
    reason: 'RetryableExitCode',
    message: 'w0 exited with code 143; restarting the whole gang (restart 1 of 3)',
  });
  const limit = restartOrFail(cause, 3, 3);
  assert.equal(limit.restart, false);
  assert.equal(limit.reason, 'RestartLimitExceeded');
  assert.match(limit.message, /already restarted 3 of 3 times/);
  assert.deepEqual(restartOrFail({ ...cause, retryable: false, reason: 'WorkerFailed' }, 0, 3), {
    restart: false,
    reason: 'WorkerFailed',
    message: cause.message,
  });
  assert.deepEqual(
    [0, 1, 2, 3, 10].map((r) => restartBackoffMs(r, 1000, 5000)),
    [0, 1000, 2000, 4000, 5000],
  );
});

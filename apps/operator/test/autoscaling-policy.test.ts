// The provisioning policy on its own: what a waiting gang asks the Cluster Autoscaler for, when it is
// admitted, and how failed or expired requests are retried under new names with backoff (as Kueue's
// ProvisioningRequest admission check does: kubernetes-sigs/kueue pkg/controller/admissionchecks/provisioning,
// "retry with backoff", and deletes requests it no longer needs: kueue#12654).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrainingJob } from '@kiln/spec';
import type { Decision } from '../src/admission.js';
import { judgeGangStart } from '../src/gang-start.js';
import {
  ATTEMPT_ANNOTATION,
  CONSUME_ANNOTATION,
  PR_CLASS,
  PROVISIONED_REASON,
  PROVISIONING_REASON,
  type ProvisioningRequest,
  planProvisioning,
  RETRY_REASON,
  requestsDone,
} from '../src/provisioning.js';

const job = (phase = 'Queued', extra: Partial<TrainingJob['spec']> = {}): TrainingJob =>
  ({
    apiVersion: 'kiln.dev/v1alpha1',
    kind: 'TrainingJob',
    metadata: { name: 'big', namespace: 'team', uid: 'u1' },
    spec: { workers: 4, ...extra },
    status: { phase },
  }) as unknown as TrainingJob;

const noRoom: Decision = { workers: 0, reason: 'InsufficientCapacity', message: '4 workers do not fit' };
const t0 = Date.parse('2026-12-02T03:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function pr(
  attempt: number,
  conditions: { type: string; status: string; reason?: string; at?: number }[] = [],
): ProvisioningRequest {
  return {
    metadata: {
      name: `big-cap-${attempt}`,
      namespace: 'team',
      annotations: { [ATTEMPT_ANNOTATION]: String(attempt) },
      creationTimestamp: iso(t0),
    },
    spec: {
      provisioningClassName: PR_CLASS,
      podSets: [{ count: 4, podTemplateRef: { name: `big-cap-${attempt}` } }],
    },
    status: {
      conditions: conditions.map((c) => ({
        type: c.type,
        status: c.status,
        reason: c.reason ?? 'R',
        message: 'm',
        lastTransitionTime: iso(c.at ?? t0),
      })),
    },
  };
}

test('a gang that does not fit asks for all its workers at once and waits Queued with a provisioning reason', () => {
  const plan = planProvisioning(job(), noRoom, 4, [], t0);
  assert.deepEqual(plan.create, { name: 'big-cap-1', workers: 4, attempt: 1 });
  assert.equal(plan.decision?.workers, 0);
  assert.equal(plan.decision?.reason, PROVISIONING_REASON);
  assert.match(plan.decision!.message, /capacity for 4 workers \(ProvisioningRequest big-cap-1\)/);
  // The next pass sees the request pending: same message, so no second status write.
  const again = planProvisioning(job(), noRoom, 4, [pr(1)], t0 + 1000);
  assert.equal(again.create, undefined);
  assert.equal(again.decision?.message, plan.decision?.message);
});

test('Provisioned=False keeps it waiting and says why; Provisioned=True admits the gang to consume the request', () => {
  const notYet = planProvisioning(
    job(),
    noRoom,
    4,
    [pr(1, [{ type: 'Provisioned', status: 'False', reason: 'CapacityIsNotFound' }])],
    t0,
  );
  assert.equal(notYet.decision?.workers, 0);
  assert.match(notYet.decision!.message, /CapacityIsNotFound/);
  const yes = planProvisioning(
    job(),
    noRoom,
    4,
    [pr(1, [{ type: 'Provisioned', status: 'True', at: t0 + 9000 }])],
    t0 + 12_000,
  );
  assert.equal(yes.decision?.workers, 4);
  assert.equal(yes.decision?.reason, PROVISIONED_REASON);
  assert.equal(yes.consume, 'big-cap-1');
  assert.match(yes.decision!.message, /after 12 s/);
  assert.deepEqual(yes.remove, []);
});

test('Failed or BookingExpired: waits out a doubling backoff, then asks again under the next name and drops the old one', () => {
  const opts = { retryBackoffMs: 5_000, maxRetryBackoffMs: 60_000 };
  for (const type of ['Failed', 'BookingExpired']) {
    const failed = [pr(1, [{ type, status: 'True', at: t0 }])];
    const early = planProvisioning(job(), noRoom, 4, failed, t0 + 2_000, opts);
    assert.equal(early.decision?.reason, RETRY_REASON);
    assert.equal(early.decision?.retryInMs, 3_000);
    assert.equal(early.create, undefined);
    assert.match(early.decision!.message, /asking again as big-cap-2 in 5 s/);
    const due = planProvisioning(job(), noRoom, 4, failed, t0 + 5_001, opts);
    assert.deepEqual(due.create, { name: 'big-cap-2', workers: 4, attempt: 2 });
    assert.deepEqual(due.remove, ['big-cap-1']);
  }
  // Attempt 3 waits 4 × the base; the cap holds.
  const third = planProvisioning(
    job(),
    noRoom,
    4,
    [pr(3, [{ type: 'Failed', status: 'True', at: t0 }])],
    t0,
    opts,
  );
  assert.equal(third.decision?.retryInMs, 20_000);
  const capped = planProvisioning(
    job(),
    noRoom,
    4,
    [pr(9, [{ type: 'Failed', status: 'True', at: t0 }])],
    t0,
    opts,
  );
  assert.equal(capped.decision?.retryInMs, 60_000);
});

test('a crash between creating the retry and deleting the failed request: the newest wins, the rest go', () => {
  const both = [pr(1, [{ type: 'Failed', status: 'True' }]), pr(2)];
  const plan = planProvisioning(job(), noRoom, 4, both, t0 + 1000);
  assert.equal(plan.create, undefined);
  assert.deepEqual(plan.remove, ['big-cap-1']);
  assert.match(plan.decision!.message, /big-cap-2, attempt 2/);
});

test('no request is kept for a job that fits, waits behind another, or cools off', () => {
  const reqs = [pr(1)];
  assert.deepEqual(
    planProvisioning(job(), { workers: 4, reason: 'GangAdmitted', message: '' }, 4, reqs, t0).remove,
    ['big-cap-1'],
  );
  for (const reason of ['WaitingInLine', 'GangTimeout', 'PriorityClassNotFound']) {
    const plan = planProvisioning(job(), { workers: 0, reason, message: '' }, 4, reqs, t0);
    assert.deepEqual(plan.remove, ['big-cap-1'], reason);
    assert.equal(plan.create, undefined);
    assert.equal(plan.decision, undefined);
  }
});

test('requests are done once the gang is bound, or the job ends, is suspended or deleted', () => {
  assert.equal(requestsDone(job('Queued'), false), false);
  assert.equal(requestsDone(job('Starting'), false), false);
  assert.equal(requestsDone(job('Starting'), true), true);
  assert.equal(requestsDone(job('Running'), false), true);
  assert.equal(requestsDone(job('Failed'), false), true);
  assert.equal(requestsDone(job('Queued', { runPolicy: { suspend: true } } as never), false), true);
  const deleting = job('Queued');
  deleting.metadata.deletionTimestamp = iso(t0);
  assert.equal(requestsDone(deleting, false), true);
});

test('a gang admitted on provisioned capacity waits for its nodes instead of being released as CapacityLost', () => {
  const pod = (annotations?: Record<string, string>) =>
    ({
      metadata: { name: 'w', annotations },
      status: {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }],
      },
    }) as never;
  const input = { workers: 2, missing: [], startingForMs: 1000, gangTimeoutMs: 60_000, fitNow: () => 0 };
  const waiting = judgeGangStart({
    ...input,
    pods: [pod({ [CONSUME_ANNOTATION]: 'big-cap-1' }), pod({ [CONSUME_ANNOTATION]: 'big-cap-1' })],
  });
  assert.equal(waiting.kind, 'wait');
  // Without the request, the same pods mean the room went away after admission.
  assert.equal(judgeGangStart({ ...input, pods: [pod(), pod()] }).kind, 'release');
  // The gang timeout still bounds the wait for nodes.
  assert.equal(
    judgeGangStart({ ...input, startingForMs: 60_000, pods: [pod({ [CONSUME_ANNOTATION]: 'x' })] }).kind,
    'release',
  );
});

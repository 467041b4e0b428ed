// The provisioning policy on its own: what a waiting gang asks the Cluster Autoscaler for, when it is
// admitted, and how failed or expired requests are retried under new names with backoff. Cases ported
// from Kueue's ProvisioningRequest admission check, kubernetes-sigs/kueue
// pkg/controller/admissionchecks/provisioning/controller_test.go (at ff69552e): "when request is
// provisioned", "when request fails and is retried", "workload retries the admission check when is not
// admitted and receives the provisioning request's BookingExpired condition", "remove unnecessary
// requests", "request removed on workload finished / evicted", "request out of sync"; and the leak of
// kueue#12654 (requests left behind).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrainingJob } from '@kiln/spec';
import type { Decision } from '../src/admission.js';
import { judgeGangStart } from '../src/gang-start.js';
import {
  ATTEMPT_ANNOTATION,
  CONSUME_ANNOTATION,
  growingTo,
  PR_CLASS,
  PROVISIONED_REASON,
  PROVISIONING_REASON,
  type ProvisioningRequest,
  PURPOSE_ANNOTATION,
  planGrowth,
  planProvisioning,
  RETRY_REASON,
  requestDone,
  UNSEEN_GRACE_MS,
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
  grow?: { from: number },
): ProvisioningRequest {
  const name = `big-${grow ? 'grow' : 'cap'}-${attempt}`;
  const annotations: Record<string, string> = { [ATTEMPT_ANNOTATION]: String(attempt) };
  if (grow) {
    annotations[PURPOSE_ANNOTATION] = 'grow';
    annotations['kiln.dev/grow-from'] = String(grow.from);
  }
  return {
    metadata: {
      name,
      namespace: 'team',
      annotations,
      creationTimestamp: iso(t0),
    },
    spec: {
      provisioningClassName: PR_CLASS,
      podSets: [{ count: 4, podTemplateRef: { name } }],
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
  assert.deepEqual(plan.create, { name: 'big-cap-1', workers: 4, attempt: 1, purpose: 'gang' });
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
    assert.deepEqual(due.create, { name: 'big-cap-2', workers: 4, attempt: 2, purpose: 'gang' });
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

test('a request in flight wins over "it fits now": the gang waits for Provisioned and its pods consume the request', () => {
  // The autoscaler's nodes register before it writes Provisioned=True: admission sees them free.
  const fits: Decision = { workers: 4, reason: 'GangAdmitted', message: 'all 4 workers fit' };
  const inFlight = planProvisioning(job(), fits, 4, [pr(1, [{ type: 'Accepted', status: 'True' }])], t0);
  assert.equal(inFlight.decision?.workers, 0);
  assert.equal(inFlight.decision?.reason, PROVISIONING_REASON);
  assert.deepEqual(inFlight.remove, []);
  const provisioned = planProvisioning(
    job(),
    fits,
    4,
    [pr(1, [{ type: 'Provisioned', status: 'True', reason: 'CapacityIsFound' }])],
    t0,
  );
  assert.equal(provisioned.decision?.reason, PROVISIONED_REASON);
  assert.equal(provisioned.consume, 'big-cap-1');
});

test('a request not yet accepted (CA takes them up one per loop) still wins while the autoscaler may reach it', () => {
  const fits: Decision = { workers: 4, reason: 'GangAdmitted', message: 'all 4 workers fit' };
  const early = planProvisioning(job(), fits, 4, [pr(1)], t0 + 10_000);
  assert.equal(early.decision?.reason, PROVISIONING_REASON);
  assert.deepEqual(early.remove, []);
});

test('room that appeared elsewhere admits the gang when no nodes are coming for it (request refused, failed or not accepted), and the request goes', () => {
  const fits: Decision = { workers: 4, reason: 'GangAdmitted', message: 'all 4 workers fit' };
  for (const reqs of [
    [pr(1, [{ type: 'Provisioned', status: 'False', reason: 'CapacityIsNotFound' }])],
    [pr(1, [{ type: 'Failed', status: 'True' }])],
    [pr(1)], // not Accepted for UNSEEN_GRACE_MS: no autoscaler is running
    [],
  ]) {
    const plan = planProvisioning(job(), fits, 4, reqs, t0 + UNSEEN_GRACE_MS + 1);
    assert.equal(plan.decision, undefined, 'admission decides');
    assert.equal(plan.consume, undefined);
    assert.deepEqual(
      plan.remove,
      reqs.map((r) => r.metadata.name),
    );
  }
});

test('remove unnecessary requests: a job cooling off or without its priority class keeps none', () => {
  const reqs = [pr(1), pr(1, [], { from: 2 })];
  for (const reason of ['GangTimeout', 'PriorityClassNotFound']) {
    const plan = planProvisioning(job(), { workers: 0, reason, message: '' }, 4, reqs, t0);
    assert.deepEqual(plan.remove, ['big-cap-1', 'big-grow-1'], reason);
    assert.equal(plan.create, undefined);
    assert.equal(plan.decision, undefined);
  }
});

test('waiting in line behind another job in room that exists: no new request; one already provisioned admits it', () => {
  const inLine: Decision = { workers: 0, reason: 'WaitingInLine', message: 'waiting for a' };
  const none = planProvisioning(job(), inLine, 4, [], t0);
  assert.equal(none.create, undefined);
  assert.equal(none.decision, undefined);
  const failed = planProvisioning(job(), inLine, 4, [pr(1, [{ type: 'Failed', status: 'True' }])], t0);
  assert.deepEqual(failed.remove, ['big-cap-1']);
  assert.equal(failed.create, undefined);
  const mine = planProvisioning(job(), inLine, 4, [pr(1, [{ type: 'Provisioned', status: 'True' }])], t0);
  assert.equal(mine.decision?.workers, 4);
  assert.equal(mine.consume, 'big-cap-1');
});

test('requests are done once the gang is bound, or the job ends, is suspended or deleted (kueue#12654)', () => {
  const gang = pr(1);
  assert.equal(requestDone(job('Queued'), gang, false, undefined), false);
  assert.equal(requestDone(job('Starting'), gang, false, 4), false);
  assert.equal(requestDone(job('Starting'), gang, true, 4), true);
  assert.equal(requestDone(job('Running'), gang, false, 4), true);
  assert.equal(requestDone(job('Failed'), gang, false, undefined), true);
  assert.equal(requestDone(job('Succeeded'), gang, false, undefined), true);
  assert.equal(requestDone(job('Queued', { runPolicy: { suspend: true } } as never), gang, false, 4), true);
  const deleting = job('Queued');
  deleting.metadata.deletionTimestamp = iso(t0);
  assert.equal(requestDone(deleting, gang, false, undefined), true);
  // A grow request stays while the job runs at the size it grows from, and goes once the grown gang is bound.
  const grow = pr(1, [], { from: 2 });
  assert.equal(requestDone(job('Running'), grow, true, 2), false);
  assert.equal(requestDone(job('Restarting'), grow, false, undefined), false);
  assert.equal(requestDone(job('Starting'), grow, false, 4), false);
  assert.equal(requestDone(job('Starting'), grow, true, 4), true);
  assert.equal(requestDone(job('Succeeded'), grow, false, 2), true);
});

test('elastic growth: one grow request for the missing workers; the relaunched gang consumes it once provisioned', () => {
  const elastic = job('Running', { elastic: { minWorkers: 2, maxWorkers: 6 } } as never);
  const ask = planGrowth(elastic, 2, 6, true, [], t0);
  assert.deepEqual(ask.create, { name: 'big-grow-1', workers: 4, attempt: 1, purpose: 'grow', from: 2 });
  assert.match(ask.message ?? '', /4 more workers to grow from 2 to 6/);
  // Pending or provisioned: nothing more to ask for.
  assert.equal(planGrowth(elastic, 2, 6, true, [pr(1, [], { from: 2 })], t0).create, undefined);
  // Request out of sync (the job now runs 3): replaced under the next number.
  const stale = planGrowth(elastic, 3, 6, true, [pr(1, [], { from: 2 })], t0);
  assert.equal(stale.create?.name, 'big-grow-2');
  assert.equal(stale.create?.workers, 3);
  assert.deepEqual(stale.remove, ['big-grow-1']);
  // A job waiting (it comes first), or the maximum reached: grow requests go.
  assert.deepEqual(planGrowth(elastic, 2, 6, false, [pr(1, [], { from: 2 })], t0).remove, ['big-grow-1']);
  assert.deepEqual(planGrowth(elastic, 6, 6, true, [pr(1, [], { from: 2 })], t0).remove, ['big-grow-1']);
  // Failed: backoff, then asks again.
  const failed = [pr(1, [{ type: 'Failed', status: 'True', at: t0 }], { from: 2 })];
  const opts = { retryBackoffMs: 5_000, maxRetryBackoffMs: 60_000 };
  assert.equal(planGrowth(elastic, 2, 6, true, failed, t0 + 1000, opts).retryInMs, 4_000);
  assert.equal(planGrowth(elastic, 2, 6, true, failed, t0 + 6000, opts).create?.name, 'big-grow-2');
  // In flight: the request wins over room appearing (its nodes register before Provisioned=True).
  const accepted = [pr(1, [{ type: 'Accepted', status: 'True' }], { from: 2 })];
  assert.equal(growingTo(elastic, accepted, 2, t0), Number.POSITIVE_INFINITY);
  // Provisioned: the job relaunches once all the room asked for is there (2 + 4), not node by node.
  const provisioned = [pr(1, [{ type: 'Provisioned', status: 'True' }], { from: 2 })];
  assert.equal(growingTo(elastic, provisioned, 2, t0), 6);
  // No nodes coming (not accepted, refused, failed) or stale: any room will do.
  assert.equal(growingTo(elastic, [pr(1, [], { from: 2 })], 2, t0), Number.POSITIVE_INFINITY);
  assert.equal(growingTo(elastic, [pr(1, [], { from: 2 })], 2, t0 + UNSEEN_GRACE_MS + 1), undefined);
  const refused = [
    pr(1, [{ type: 'Provisioned', status: 'False', reason: 'CapacityIsNotFound' }], { from: 2 }),
  ];
  assert.equal(growingTo(elastic, refused, 2, t0), undefined);
  assert.equal(growingTo(elastic, failed, 2, t0), undefined);
  assert.equal(growingTo(elastic, provisioned, 3, t0), undefined);
  // Relaunched (ScaleUp) onto the provisioned room: admission fits it, its pods consume the grow request.
  const relaunch = planProvisioning(
    job('Restarting', { elastic: { minWorkers: 2, maxWorkers: 6 } } as never),
    { workers: 6, reason: 'GangAdmitted', message: 'all 6 workers fit' },
    2,
    [pr(1, [{ type: 'Provisioned', status: 'True' }], { from: 2 })],
    t0,
  );
  assert.equal(relaunch.decision, undefined);
  assert.equal(relaunch.consume, 'big-grow-1');
  assert.deepEqual(relaunch.remove, []);
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

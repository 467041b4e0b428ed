// Finishing (success after rank 0, cleanPodPolicy, TTL, deadline) on plain objects, like admission.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deadlineLeftMs, judgeSuccess, judgeTtl, podsToClean, SUCCESS_GRACE_MS } from '../src/finish.js';
import { job, pod } from './policy-fixtures.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

test('rank 0 succeeding finishes the job, after a grace for the other ranks', () => {
  const rank0 = pod('w0', { index: 0, phase: 'Succeeded', exitCode: 0, finishedAt: '2026-01-01T00:00:00Z' });
  const peer = pod('w1', { index: 1 });
  assert.deepEqual(judgeSuccess(rank0, [rank0, peer], false, T0 + 1000), {
    kind: 'wait',
    waitMs: SUCCESS_GRACE_MS - 1000,
  });
  assert.deepEqual(judgeSuccess(rank0, [rank0, peer], false, T0 + SUCCESS_GRACE_MS), { kind: 'succeeded' });
  const done = pod('w1', { index: 1, phase: 'Succeeded', exitCode: 0 });
  assert.deepEqual(
    judgeSuccess(rank0, [rank0, done], false, T0 + 1),
    { kind: 'succeeded' },
    'nothing to wait for',
  );
  assert.deepEqual(
    judgeSuccess(rank0, [rank0, peer], true, T0 + 60_000),
    { kind: 'notYet' },
    'a permanent failure wins',
  );
  assert.deepEqual(judgeSuccess(peer, [peer], false, T0), { kind: 'notYet' });
  assert.deepEqual(judgeSuccess(undefined, [], false, T0), { kind: 'notYet' });
});

test('cleanPodPolicy: Running (default) removes unfinished pods, All every pod, None nothing', () => {
  const pods = [
    pod('a', { phase: 'Succeeded', exitCode: 0 }),
    pod('b', { phase: 'Failed', exitCode: 1 }),
    pod('c', { phase: 'Running' }),
    pod('d', { phase: 'Pending' }),
  ];
  const names = (policy?: 'None' | 'Running' | 'All') =>
    podsToClean(job(policy ? { cleanPodPolicy: policy } : {}), pods).map((p) => p.metadata?.name);
  assert.deepEqual(names(), ['c', 'd']);
  assert.deepEqual(names('Running'), ['c', 'd']);
  assert.deepEqual(names('All'), ['a', 'b', 'c', 'd']);
  assert.deepEqual(names('None'), []);
});

test('ttlSecondsAfterFinished counts from completionTime', () => {
  const done = '2026-01-01T00:00:00Z';
  assert.deepEqual(judgeTtl(job(), done, T0 + 10_000_000), { kind: 'keep' }, 'no TTL: kept');
  assert.deepEqual(judgeTtl(job({ ttlSecondsAfterFinished: 60 }), undefined, T0), { kind: 'keep' });
  assert.deepEqual(judgeTtl(job({ ttlSecondsAfterFinished: 60 }), done, T0 + 10_000), {
    kind: 'wait',
    waitMs: 50_050,
  });
  assert.deepEqual(judgeTtl(job({ ttlSecondsAfterFinished: 60 }), done, T0 + 60_000), { kind: 'delete' });
  assert.deepEqual(judgeTtl(job({ ttlSecondsAfterFinished: 0 }), done, T0), { kind: 'delete' });
});

test('activeDeadlineSeconds counts from startTime', () => {
  const start = '2026-01-01T00:00:00Z';
  assert.equal(deadlineLeftMs(job(), start, T0), undefined);
  assert.equal(deadlineLeftMs(job({ activeDeadlineSeconds: 30 }), undefined, T0), undefined, 'not started');
  assert.equal(deadlineLeftMs(job({ activeDeadlineSeconds: 30 }), start, T0 + 10_000), 20_000);
  assert.equal(deadlineLeftMs(job({ activeDeadlineSeconds: 30 }), start, T0 + 31_000), -1000);
});

// Gang start (all running, capacity lost, gang timeout) on plain pod objects, like admission.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gangMembers, judgeGangStart } from '../src/gang-start.js';
import { pod } from './policy-fixtures.js';

const base = {
  workers: 2,
  missing: [] as number[],
  startingForMs: 1000,
  gangTimeoutMs: 60_000,
  fitNow: () => 2,
};

test('the gang is Running when every worker runs, and not before', () => {
  const both = [pod('w0', { index: 0 }), pod('w1', { index: 1 })];
  assert.deepEqual(judgeGangStart({ ...base, pods: both }), { kind: 'running' });
  const one = [pod('w0', { index: 0 }), pod('w1', { index: 1, phase: 'Pending' })];
  assert.deepEqual(judgeGangStart({ ...base, pods: one }), { kind: 'wait', requeueAfterMs: 59_050 });
  assert.deepEqual(judgeGangStart({ ...base, pods: [both[0]!], missing: [1] }).kind, 'wait');
});

test('an unschedulable worker releases the gang only when it no longer fits', () => {
  const pods = [pod('w0', { index: 0 }), pod('w1', { index: 1, phase: 'Pending', unschedulable: true })];
  assert.equal(judgeGangStart({ ...base, pods }).kind, 'wait', 'still fits: the scheduler catches up');
  const lost = judgeGangStart({ ...base, pods, fitNow: () => 1 });
  assert.deepEqual(lost, {
    kind: 'release',
    reason: 'CapacityLost',
    message: '2 workers no longer fit; released to be admitted again',
  });
});

test('workers not all placed within the gang timeout release the gang, naming the unplaced', () => {
  const pods = [pod('w0', { index: 0, node: 'n1' }), pod('w1', { index: 1, phase: 'Pending' })];
  const v = judgeGangStart({ ...base, pods, startingForMs: 60_000 });
  assert.equal(v.kind, 'release');
  assert.equal(v.kind === 'release' && v.reason, 'GangTimeout');
  assert.match(v.kind === 'release' ? v.message : '', /within 60 s \(unplaced: w1\)/);
});

test('gang members by replica index, and the missing ones', () => {
  const { byIndex, missing } = gangMembers([pod('w2', { index: 2 }), pod('w0', { index: 0 })], 4);
  assert.equal(byIndex.get(2)?.metadata?.name, 'w2');
  assert.deepEqual(missing, [1, 3]);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkQueue } from '../src/workqueue.js';

test('a key is queued once and never handed to two workers at once', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('a');
  q.add('b');
  assert.equal(q.depth, 2);
  const first = await q.get();
  assert.equal(first, 'a');
  q.add('a'); // while processing: runs again after done(), not concurrently
  assert.equal(await q.get(), 'b');
  assert.equal(q.depth, 0);
  q.done('a');
  assert.equal(q.depth, 1);
  assert.equal(await q.get(), 'a');
  q.done('a');
  q.done('b');
  assert.equal(q.depth, 0);
});

test('failures back off exponentially per key and forget() resets them', () => {
  const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 50 });
  assert.deepEqual(
    [q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k')],
    [10, 20, 40, 50],
  );
  assert.equal(q.addRateLimited('other'), 10);
  q.forget('k');
  assert.equal(q.addRateLimited('k'), 10);
  q.shutdown();
});

test('addAfter delivers later, keeps the earliest deadline, and shutdown releases waiters', async () => {
  const q = new WorkQueue();
  // The queue's timers are unref'd (they never keep an operator alive); this keeps the test alive.
  const keepAlive = setInterval(() => {}, 1000);
  const t0 = Date.now();
  q.addAfter('x', 200);
  q.addAfter('x', 30);
  assert.equal(q.delayed, 1);
  assert.equal(await q.get(), 'x');
  const waited = Date.now() - t0;
  assert.ok(waited >= 25 && waited < 190, `delivered after ${waited} ms`);
  q.done('x');
  const pending = q.get();
  q.shutdown();
  assert.equal(await pending, undefined);
  clearInterval(keepAlive);
});

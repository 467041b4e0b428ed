// Expectations for created pods and the Service: a lagging cache does not cause a second create.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Expectations } from '../src/expectations.js';

test('a created pod is expected until it lapses, per job, and a new phase forgets it', () => {
  const e = new Expectations(10_000);
  e.podCreated('ns/a', 'a-worker-0', 0);
  assert.equal(e.podPending('ns/a', 'a-worker-0', 5_000), true);
  assert.equal(e.podPending('ns/b', 'a-worker-0', 5_000), false, 'another job');
  assert.equal(e.podPending('ns/a', 'a-worker-0', 10_001), false, 'lapsed: create again');
  e.expire(10_001);
  e.podCreated('ns/a', 'a-worker-1', 0);
  e.forgetPods('ns/a');
  assert.equal(e.podPending('ns/a', 'a-worker-1', 1), false);
});

test('a created Service is expected for the same job uid until the cache shows it', () => {
  const e = new Expectations(10_000);
  e.serviceCreated('ns/a', 'uid-1', 0);
  assert.equal(e.servicePending('ns/a', 'uid-1', 9_999), true);
  assert.equal(e.servicePending('ns/a', 'uid-2', 1), false, 'a job recreated under the same name');
  assert.equal(e.servicePending('ns/a', 'uid-1', 10_000), false);
  e.serviceSeen('ns/a');
  assert.equal(e.servicePending('ns/a', 'uid-1', 1), false);
  e.serviceCreated('ns/a', 'uid-1', 0);
  e.forgetJob('ns/a');
  assert.equal(e.servicePending('ns/a', 'uid-1', 1), false);
});

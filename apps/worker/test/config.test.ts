// The worker's environment: defaults, and a bad value fails at start naming the variable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromEnv } from '../src/config.js';
import { trialJobName } from '../src/trial-job.js';

test('defaults, and bad numbers are refused naming the variable', () => {
  const c = configFromEnv({});
  assert.equal(c.redisPrefix, 'kiln');
  assert.equal(c.rescanMs, 5000);
  assert.equal(configFromEnv({ KILN_SWEEP_RESCAN_MS: '250' }).rescanMs, 250);
  for (const bad of ['0', '-1', '1.5', 'soon'])
    assert.throws(
      () => configFromEnv({ KILN_SWEEP_RESCAN_MS: bad }),
      new RegExp(`KILN_SWEEP_RESCAN_MS must be a positive integer, got "${bad}"`),
    );
  assert.throws(() => configFromEnv({ KILN_SWEEP_CONCURRENCY: 'x' }), /KILN_SWEEP_CONCURRENCY/);
});

test('trial job names: <sweep>-<number>, long sweep names cut with a hash so two never collide', () => {
  assert.equal(trialJobName('lr-search', 7), 'lr-search-7');
  const a = trialJobName(`${'a'.repeat(60)}x`, 123);
  const b = trialJobName(`${'a'.repeat(60)}y`, 123);
  assert.notEqual(a, b);
  for (const n of [a, b]) {
    assert.ok(n.length <= 63 - '-worker-999'.length, n);
    assert.match(n, /^[a-z][a-z0-9-]*-123$/);
  }
});

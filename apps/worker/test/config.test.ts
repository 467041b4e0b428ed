// The worker's environment: defaults, and a bad value fails at start naming the variable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromEnv } from '../src/config.js';

test('defaults, and bad numbers are refused naming the variable', () => {
  const c = configFromEnv({});
  assert.equal(c.redisPrefix, 'kiln');
  assert.equal(c.rescanMs, 30_000);
  assert.equal(configFromEnv({ KILN_SWEEP_RESCAN_MS: '250' }).rescanMs, 250);
  for (const bad of ['0', '-1', '1.5', 'soon'])
    assert.throws(
      () => configFromEnv({ KILN_SWEEP_RESCAN_MS: bad }),
      new RegExp(`KILN_SWEEP_RESCAN_MS must be a positive integer, got "${bad}"`),
    );
  assert.throws(() => configFromEnv({ KILN_SWEEP_CONCURRENCY: 'x' }), /KILN_SWEEP_CONCURRENCY/);
});

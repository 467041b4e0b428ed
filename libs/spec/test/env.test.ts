import assert from 'node:assert/strict';
import { test } from 'node:test';
import { positiveIntEnv } from '../src/index.js';

test('positiveIntEnv: unset or empty gives the default; a positive integer is read', () => {
  assert.equal(positiveIntEnv({}, 'PORT', 8080), 8080);
  assert.equal(positiveIntEnv({ PORT: '' }, 'PORT', 8080), 8080);
  assert.equal(positiveIntEnv({ PORT: '9000' }, 'PORT', 8080), 9000);
});

test('positiveIntEnv: anything else is refused, naming the variable and the value', () => {
  for (const raw of ['0', '-3', '2.5', 'ten', '1e3', '0x10', '9007199254740993', ' ']) {
    assert.throws(
      () => positiveIntEnv({ KILN_X: raw }, 'KILN_X', 1),
      new RegExp(
        `^Error: KILN_X must be a positive integer, got ${JSON.stringify(raw).replace(/[.+]/g, '\\$&')}$`,
      ),
      raw,
    );
  }
});

// Errors as @kubernetes/client-node throws them, checked against a real kube-apiserver's answers in the
// operator and local-cluster suites; here the shapes alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isConflict, isForbidden, isNotFound, statusCode } from '@kiln/kube';
import { ApiException } from '@kubernetes/client-node';

test('the status of a client-node ApiException, of a statusCode error, and of anything else', () => {
  const notFound = new ApiException(404, 'not found', { reason: 'NotFound' }, {});
  assert.equal(statusCode(notFound), 404);
  assert.equal(isNotFound(notFound), true);
  assert.equal(isConflict(notFound), false);
  assert.equal(isConflict(new ApiException(409, 'exists', {}, {})), true);
  assert.equal(isForbidden(Object.assign(new Error('forbidden'), { statusCode: 403 })), true);
  for (const other of [
    new Error('ECONNREFUSED'),
    Object.assign(new Error('x'), { code: 'ENOENT' }),
    null,
    'x',
    404,
  ]) {
    assert.equal(statusCode(other), undefined, String(other));
    assert.equal(isNotFound(other), false);
  }
});

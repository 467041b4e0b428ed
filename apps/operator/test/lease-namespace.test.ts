// The Lease's namespace missing is a clear, immediate error (not leader election retried forever): the
// operator in process rejects start() naming the namespace and the fix, the production process exits 1
// with that message; once the namespace exists the same operator leads.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { LeaseNamespaceMissingError } from '../src/leader.js';
import { operatorCluster } from './cluster-helpers.js';

const c = operatorCluster([{ name: 'node-a' }]);

test('start() rejects at once when the lease namespace is missing', { timeout: 60_000 }, async () => {
  await assert.rejects(c.startOperator({ leaseNamespace: 'kiln-absent', leaseName: 'ln-missing' }), (err) => {
    assert.ok(err instanceof LeaseNamespaceMissingError);
    assert.equal(err.namespace, 'kiln-absent');
    assert.match(
      err.message,
      /"kiln-absent" does not exist: create it \(kubectl create namespace kiln-absent\)/,
    );
    assert.match(err.message, /--lease-namespace/);
    return true;
  });
});

test('the operator process exits 1 and says why', { timeout: 60_000 }, async () => {
  const child = c.spawnOperator(['--lease-namespace=kiln-absent']);
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  const [code] = await once(child, 'exit');
  assert.equal(code, 1);
  const fatal = lines
    .map((l) => JSON.parse(l) as { level: number; msg: string; err?: string })
    .find((l) => l.level === 60);
  assert.equal(fatal?.msg, 'operator failed to start');
  assert.match(fatal?.err ?? '', /lease namespace "kiln-absent" does not exist/);
});

test('with the namespace present the operator leads', { timeout: 60_000 }, async () => {
  const ns = await c.namespace('lease');
  const op = await c.startOperator({ leaseNamespace: ns, leaseName: 'ln-present' });
  assert.equal(op.leader.isLeader, true);
});

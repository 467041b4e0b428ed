// The operator runs a job to Succeeded with nothing but the ServiceAccount in deploy/operator/rbac.yaml,
// and that account cannot do what the operator never needs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createJob, operatorCluster, trainingJob, waitPhase } from './cluster-helpers.js';

const c = operatorCluster([{ name: 'node-a' }]);
const rbac = new URL('../../../deploy/operator/rbac.yaml', import.meta.url).pathname;

test('the least-privilege ServiceAccount is enough to run a job, and no more', {
  timeout: 90_000,
}, async () => {
  await c.k.kubectl(['create', 'namespace', 'kiln-system']);
  const applied = await c.k.kubectl(['apply', '-f', rbac]);
  assert.equal(applied.code, 0, applied.stderr);
  const token = await c.k.core.createNamespacedServiceAccountToken({
    name: 'kiln-operator',
    namespace: 'kiln-system',
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const admin = c.k.kc;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [admin.getCurrentCluster()!],
    users: [{ name: 'operator', token: token.status!.token }],
    contexts: [{ name: 'operator', cluster: admin.getCurrentCluster()!.name, user: 'operator' }],
    currentContext: 'operator',
  });
  const ns = await c.namespace('rbac');
  await c.startOperator({ kubeconfig: kc, leaseNamespace: 'kiln-system', leaseName: 'kiln-operator' });
  await createJob(c, trainingJob(ns, 'r', { workers: 2, env: { FAKE_STEPS: '10' } }));
  const done = await waitPhase(c, ns, 'r', 'Succeeded');
  assert.ok(done.status?.progress);

  const core = kc.makeApiClient(CoreV1Api);
  await assert.rejects(
    core.listNamespacedSecret({ namespace: ns }),
    (err: { code?: number }) => err.code === 403,
  );
  await assert.rejects(core.deleteNode({ name: 'node-a' }), (err: { code?: number }) => err.code === 403);
  const can = await c.k.kubectl([
    'auth',
    'can-i',
    'update',
    'trainingjobs.kiln.dev',
    '--as=system:serviceaccount:kiln-system:kiln-operator',
    '-n',
    ns,
  ]);
  assert.equal(can.stdout.trim(), 'no');
});

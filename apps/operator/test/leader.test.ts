// Two replicas: only the Lease holder reconciles; the standby is ready but idle, and takes over as soon
// as the leader shuts down gracefully (it hands the Lease back). Health and metrics endpoints answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createJob, operatorCluster, trainingJob, waitPhase } from './cluster-helpers.js';

const c = operatorCluster([{ name: 'node-a' }]);

const get = async (port: number, path: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
};
const reconciles = (metrics: string) =>
  [...metrics.matchAll(/^kiln_operator_reconcile_total\{result="[a-z]+"\} (\d+)/gm)].reduce(
    (s, m) => s + Number(m[1]),
    0,
  );

test('only the leader acts; the standby takes over when the leader stops', { timeout: 120_000 }, async () => {
  const ns = await c.namespace('le');
  const a = await c.startOperator({ leaseName: 'le-test', identity: 'replica-a' });
  const startB = c.startOperator({ leaseName: 'le-test', identity: 'replica-b' });
  await createJob(c, trainingJob(ns, 'one', { workers: 1, env: { FAKE_STEPS: '3' } }));
  await waitPhase(c, ns, 'one', 'Succeeded');
  assert.equal(a.leader.isLeader, true);
  assert.equal((await get(a.healthPort, '/healthz')).status, 200);
  assert.equal((await get(a.healthPort, '/readyz')).status, 200);
  const metrics = (await get(a.healthPort, '/metrics')).body;
  assert.ok(reconciles(metrics) > 0);
  assert.match(metrics, /kiln_operator_reconcile_duration_seconds_bucket/);
  assert.match(metrics, /kiln_operator_workqueue_depth \d+/);
  assert.match(metrics, /kiln_operator_api_requests_total\{verb="create",resource="pods"\} 1/);

  await a.stop();
  const b = await startB;
  assert.equal(b.leader.isLeader, true);
  await createJob(c, trainingJob(ns, 'two', { workers: 1, env: { FAKE_STEPS: '3' } }));
  await waitPhase(c, ns, 'two', 'Succeeded');
  assert.ok(reconciles((await get(b.healthPort, '/metrics')).body) > 0);
});

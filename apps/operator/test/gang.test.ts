// Gang admission on a 4-GPU cluster: two jobs that each need 3 GPUs never both start half-way; the
// second waits Queued (with the reason) and runs when the first has finished.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createJob, jobPods, operatorCluster, trainingJob, waitPhase } from './cluster-helpers.js';

const c = operatorCluster([
  { name: 'gpu-a', gpus: 2 },
  { name: 'gpu-b', gpus: 2 },
]);
before(() => c.startOperator().then(() => {}), { timeout: 240_000 });

test('two 3-GPU jobs on 4 GPUs: one runs, the other is Queued, then runs after the first', async () => {
  const ns = await c.namespace('gang');
  await createJob(
    c,
    trainingJob(ns, 'first', { workers: 3, gpus: 1, env: { FAKE_STEPS: '25', FAKE_STEP_MS: '100' } }),
  );
  await new Promise((r) => setTimeout(r, 50));
  await createJob(c, trainingJob(ns, 'second', { workers: 3, gpus: 1, env: { FAKE_STEPS: '15' } }));

  const queued = await waitPhase(c, ns, 'second', 'Queued');
  const reason = queued.status?.conditions?.find((x) => x.type === 'Queued');
  assert.equal(reason?.reason, 'InsufficientCapacity');
  assert.match(reason?.message ?? '', /nvidia\.com\/gpu: 3 wanted, 1 free/);
  await waitPhase(c, ns, 'first', 'Running');

  // While the first runs, the second holds nothing: no pod of it exists at all.
  let sawFirstDone = false;
  while (!sawFirstDone) {
    const [first, second] = await Promise.all([jobPods(c, ns, 'first'), jobPods(c, ns, 'second')]);
    const firstLive = first.filter((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending');
    if (firstLive.length === 3)
      assert.equal(second.length, 0, 'the second gang started while the first held 3 GPUs');
    sawFirstDone = firstLive.length === 0;
    await new Promise((r) => setTimeout(r, 100));
  }
  await waitPhase(c, ns, 'first', 'Succeeded');
  const second = await waitPhase(c, ns, 'second', 'Succeeded', 40_000);
  const order = second.status?.conditions?.map((x) => x.type);
  assert.deepEqual(order, ['Queued', 'Starting', 'Running', 'Succeeded']);
  const pods = await jobPods(c, ns, 'second');
  assert.equal(new Set(pods.map((p) => p.spec?.nodeName)).size, 2, 'spread over both nodes');
});

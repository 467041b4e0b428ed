// Gang admission on a 4-GPU cluster: two jobs that each need 3 GPUs never both start half-way; the
// second waits Queued (with the reason) and runs when the first has finished. A gang the scheduler
// cannot place is released at its timeout and admitted again once it can run; queued jobs are admitted
// by priority; a deleted headless Service is made again.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { SchedulingV1Api } from '@kubernetes/client-node';
import type { Operator } from '../src/controller.js';
import {
  createJob,
  events,
  getJob,
  jobPods,
  operatorCluster,
  trainingJob,
  waitFor,
  waitPhase,
} from './cluster-helpers.js';

const c = operatorCluster([
  { name: 'gpu-a', gpus: 2 },
  { name: 'gpu-b', gpus: 2 },
]);
let operator: Operator;
before(
  async () => {
    operator = await c.startOperator();
  },
  { timeout: 240_000 },
);

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

/** A claim like the one `c.namespace()` binds, made when the test chooses. */
async function createClaim(ns: string, name: string): Promise<void> {
  await c.k.core.createNamespacedPersistentVolumeClaim({
    namespace: ns,
    body: {
      metadata: { name },
      spec: {
        accessModes: ['ReadWriteMany'],
        storageClassName: 'kiln-local',
        resources: { requests: { storage: '1Gi' } },
      },
    },
  });
}

test('a gang the scheduler cannot place is released at its timeout, Queued, then runs once it can', async () => {
  const ns = await c.namespace('timeout');
  // The GPUs are free, so admission lets the gang in; but its checkpoint claim does not exist yet, which
  // the scheduler (not the operator's fit check) refuses: the pods stay unplaced until the timeout.
  const job = trainingJob(ns, 'late', {
    workers: 2,
    gpus: 1,
    env: { FAKE_STEPS: '5' },
    scheduling: { gangTimeoutSeconds: 3 },
  });
  (job.spec.checkpoint as { volumeClaim: string }).volumeClaim = 'late-claim';
  await createJob(c, job);

  const firstPods = await waitFor('the first launch to create both pods', async () => {
    const pods = await jobPods(c, ns, 'late');
    return pods.length === 2 ? pods : undefined;
  });
  const unplaced = await waitFor('the scheduler to refuse the pods', async () => {
    const pods = await jobPods(c, ns, 'late');
    const refused = pods.filter((p) =>
      p.status?.conditions?.some((x) => x.type === 'PodScheduled' && x.status === 'False'),
    );
    return refused.length === 2 ? refused : undefined;
  });
  assert.ok(unplaced.every((p) => !p.spec?.nodeName));

  // Released at the timeout: Queued with the reason, and it sits out a cool-off as long as the timeout.
  const queued = await waitPhase(
    c,
    ns,
    'late',
    (j) =>
      j.status?.phase === 'Queued' &&
      j.status.conditions?.some((x) => x.type === 'Queued' && x.reason === 'GangTimeout') === true,
  );
  const reason = queued.status?.conditions?.find((x) => x.type === 'Queued');
  assert.match(
    reason?.message ?? '',
    /not all 2 workers were placed within 3 s \(unplaced: late-worker-\d.*\); released/,
  );
  assert.equal(queued.status?.restarts ?? 0, 0, 'a gang timeout is not a restart');
  const firstUids = new Set(firstPods.map((p) => p.metadata?.uid));
  await waitFor('the released pods to be deleted', async () => {
    const pods = await jobPods(c, ns, 'late');
    return pods.every((p) => !firstUids.has(p.metadata?.uid));
  });
  await waitFor('a GangTimeout Event', async () => (await events(c, ns, 'late')).includes('GangTimeout'));

  // What it was missing appears: after the cool-off it is admitted again, placed and runs.
  await createClaim(ns, 'late-claim');
  const running = await waitPhase(c, ns, 'late', 'Running', 60_000);
  assert.equal(running.status?.workers?.running, 2);
  const pods = await jobPods(c, ns, 'late');
  assert.ok(pods.every((p) => p.spec?.nodeName && !firstUids.has(p.metadata?.uid)));
  await waitPhase(c, ns, 'late', 'Succeeded');
});

test('queued jobs are admitted by priority class value, not by age; a deleted Service is made again', async () => {
  const ns = await c.namespace('prio');
  const scheduling = c.k.kc.makeApiClient(SchedulingV1Api);
  const suffix = ns.split('-').pop();
  const low = `kiln-low-${suffix}`;
  const high = `kiln-high-${suffix}`;
  await scheduling.createPriorityClass({ body: { metadata: { name: low }, value: 10 } });
  await scheduling.createPriorityClass({ body: { metadata: { name: high }, value: 1000 } });
  try {
    await waitFor('the operator to know both classes', async () => !!operator.priorityClasses.get(high));
    // A long job holds all 4 GPUs while the others line up.
    await createJob(c, trainingJob(ns, 'hold', { workers: 2, gpus: 2, env: { FAKE_STEPS: '100000' } }));
    const holding = await waitPhase(c, ns, 'hold', 'Running');

    // Someone deletes the headless Service the workers find each other through: it comes back.
    const before = await c.k.core.readNamespacedService({ name: 'hold', namespace: ns });
    await c.k.core.deleteNamespacedService({ name: 'hold', namespace: ns });
    const again = await waitFor('the Service to be made again', async () => {
      const svc = await c.k.core
        .readNamespacedService({ name: 'hold', namespace: ns })
        .catch(() => undefined);
      return svc && svc.metadata?.uid !== before.metadata?.uid ? svc : undefined;
    });
    assert.equal(again.spec?.clusterIP, 'None');
    assert.equal(again.metadata?.ownerReferences?.[0]?.uid, holding.metadata.uid);

    // The older job (and first by name) has the lower priority: the younger, higher one goes first.
    const gpus3 = { workers: 3, gpus: 1, env: { FAKE_STEPS: '10' } };
    await createJob(c, trainingJob(ns, 'a-low', { ...gpus3, scheduling: { priorityClassName: low } }));
    await createJob(c, trainingJob(ns, 'b-high', { ...gpus3, scheduling: { priorityClassName: high } }));
    await waitPhase(c, ns, 'a-low', 'Queued');
    await waitPhase(c, ns, 'b-high', 'Queued');
    await c.custom().deleteNamespacedCustomObject({
      group: 'kiln.dev',
      version: 'v1alpha1',
      plural: 'trainingjobs',
      namespace: ns,
      name: 'hold',
    });
    await waitPhase(c, ns, 'b-high', 'Running', 60_000);
    const lowNow = await getJob(c, ns, 'a-low');
    assert.equal(lowNow.status?.phase, 'Queued');
    assert.ok(!lowNow.status?.conditions?.some((x) => x.type === 'Starting'), 'the lower one never started');
    assert.equal((await jobPods(c, ns, 'a-low')).length, 0, 'the lower-priority gang holds nothing');
    const highPods = await jobPods(c, ns, 'b-high');
    assert.ok(highPods.every((p) => p.spec?.priorityClassName === high && p.spec?.priority === 1000));

    await waitPhase(c, ns, 'b-high', 'Succeeded');
    await waitPhase(c, ns, 'a-low', 'Succeeded', 60_000);
  } finally {
    await scheduling.deletePriorityClass({ name: low }).catch(() => {});
    await scheduling.deletePriorityClass({ name: high }).catch(() => {});
  }
});

test('the fit check honours node selectors and taints as the scheduler does, and sees nodes relabelled', async () => {
  const ns = await c.namespace('fit');
  const spare = {
    workers: 2,
    gpus: 1,
    env: { FAKE_STEPS: '5' },
    scheduling: {
      nodeSelector: { pool: 'spare' },
      tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }],
    },
  };
  const kubectl = async (args: string[]) => {
    const r = await c.k.kubectl(args);
    assert.equal(r.code, 0, r.stderr);
  };
  try {
    // No node is in the pool: Queued, and no pod is made for the scheduler to leave Pending.
    await createJob(c, trainingJob(ns, 'picky', spare));
    const queued = await waitPhase(c, ns, 'picky', 'Queued');
    assert.match(
      queued.status?.conditions?.find((x) => x.type === 'Queued')?.message ?? '',
      /no single node fits a worker/,
    );
    assert.equal((await jobPods(c, ns, 'picky')).length, 0);

    // The node joins the pool, dedicated (tainted): the change alone admits the job (well before the
    // 30 s safety timer), and the scheduler places both workers where the operator counted them.
    await kubectl(['taint', 'node', 'gpu-b', 'dedicated=kiln:NoSchedule']);
    await kubectl(['label', 'node', 'gpu-b', 'pool=spare']);
    await waitPhase(c, ns, 'picky', 'Running', 25_000);
    const pods = await jobPods(c, ns, 'picky');
    assert.deepEqual(
      pods.map((p) => p.spec?.nodeName),
      ['gpu-b', 'gpu-b'],
    );

    // The same selector without the toleration, the node's GPUs free again: the taint alone keeps it
    // out, so no pod is made.
    await waitPhase(c, ns, 'picky', 'Succeeded');
    await createJob(
      c,
      trainingJob(ns, 'intolerant', {
        ...spare,
        workers: 1,
        scheduling: { nodeSelector: { pool: 'spare' } },
      }),
    );
    const refused = await waitPhase(c, ns, 'intolerant', 'Queued');
    assert.match(
      refused.status?.conditions?.find((x) => x.type === 'Queued')?.message ?? '',
      /no single node fits a worker/,
    );
    assert.equal((await jobPods(c, ns, 'intolerant')).length, 0);
  } finally {
    // Out of the pool first, then untainted, so the waiting job can never run after this test.
    await c.k.kubectl(['label', 'node', 'gpu-b', 'pool-']);
    await c.k.kubectl(['taint', 'node', 'gpu-b', 'dedicated=kiln:NoSchedule-']);
    await c.k.kubectl(['delete', 'tj', '--all', '-n', ns, '--wait=false']);
  }
});

test('room taken by a pod placed outside the scheduler after admission releases the gang at once', async () => {
  const ns = await c.namespace('taken');
  // Three 1-GPU workers fit the 4 GPUs, but the claim is missing, so the scheduler holds them unplaced;
  // meanwhile a pod bound straight to a node takes 2 GPUs. Long before the 30 s gang timeout, the
  // operator sees that 3 workers no longer fit and releases them.
  const job = trainingJob(ns, 'squeezed', { workers: 3, gpus: 1, env: { FAKE_STEPS: '5' } });
  (job.spec.checkpoint as { volumeClaim: string }).volumeClaim = 'squeezed-claim';
  await createJob(c, job);
  await waitFor('the scheduler to refuse the pods', async () => {
    const pods = await jobPods(c, ns, 'squeezed');
    const refused = pods.filter((p) =>
      p.status?.conditions?.some((x) => x.type === 'PodScheduled' && x.status === 'False'),
    );
    return refused.length === 3;
  });
  await c.k.core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: 'foreign' },
      spec: {
        nodeName: 'gpu-a',
        containers: [
          {
            name: 'main',
            image: 'kiln-test',
            command: ['node', '-e', 'setInterval(() => {}, 1000)'],
            resources: { limits: { 'nvidia.com/gpu': '2' } },
          },
        ],
      },
    },
  });
  // 20 s: well inside the 30 s gang timeout, so only the release for lost room can pass.
  const released = await waitPhase(c, ns, 'squeezed', (j) => j.status?.phase === 'Queued', 20_000);
  const queued = released.status?.conditions?.find((x) => x.type === 'Queued');
  assert.ok(
    queued?.reason === 'CapacityLost' || queued?.reason === 'InsufficientCapacity',
    `Queued because ${queued?.reason}`,
  );
  await waitFor(
    'the released pods to be deleted',
    async () => (await jobPods(c, ns, 'squeezed')).length === 0,
  );
  assert.ok((await events(c, ns, 'squeezed')).includes('CapacityLost'));
  const still = await waitPhase(c, ns, 'squeezed', (j) =>
    (j.status?.conditions?.find((x) => x.type === 'Queued')?.message ?? '').includes('2 free'),
  );
  assert.equal(still.status?.phase, 'Queued');

  // The claim appears and the foreign pod goes: the gang is admitted again and runs.
  await createClaim(ns, 'squeezed-claim');
  await c.k.core.deleteNamespacedPod({ name: 'foreign', namespace: ns, gracePeriodSeconds: 0 });
  await waitPhase(c, ns, 'squeezed', 'Running', 60_000);
  await waitPhase(c, ns, 'squeezed', 'Succeeded');
});

// The real Cluster Autoscaler (built by build.sh, externalgrpc provider only) against the real control
// plane, with the node agent's local cloud as its cloud. Gangs ask for capacity the way Kueue does, with a
// ProvisioningRequest of class best-effort-atomic-scale-up over a PodTemplate; pods consume it through
// annotations once it is Provisioned. Each test uses its own pool (pods select it by label), so CA's
// decisions for one test cannot satisfy another.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import type { CloudEvent, LocalCloud } from '../src/cloud/local-cloud.js';
import { clusterForTests, waitFor } from '../src/test-helper.js';

const boot = 1000;
const gpuPool = (id: string, max: number) => ({
  id,
  min: 0,
  max,
  bootDelayMs: boot,
  template: { cpu: '4', memory: '16Gi', gpus: 1 },
});

const k = clusterForTests({
  nodes: [{ name: 'static-cpu', cpu: '8', memory: '32Gi' }],
  autoscaling: {
    pools: [gpuPool('zero', 4), gpuPool('small', 2), gpuPool('scarce', 2), gpuPool('crash', 3)],
  },
});

const group = 'autoscaling.x-k8s.io';
const className = 'best-effort-atomic-scale-up.autoscaling.x-k8s.io';
const custom = () => k.kc.makeApiClient(CustomObjectsApi);
const cloud = (): LocalCloud => k.cluster!.autoscaling!.cloud;

function caTail(lines = 40): string {
  try {
    const log = readFileSync(k.cluster!.autoscaling!.autoscaler.logFile, 'utf8').split('\n');
    return `\n--- cluster-autoscaler log (last ${lines} lines) ---\n${log.slice(-lines).join('\n')}`;
  } catch {
    return '';
  }
}

/** waitFor with the autoscaler's log attached on failure. */
async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 90_000,
): Promise<T> {
  try {
    return await waitFor(what, fn, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}${caTail()}`);
  }
}

function record(): { events: CloudEvent[]; stop: () => void } {
  const events: CloudEvent[] = [];
  const stop = cloud().on((e) => events.push(e));
  return { events, stop };
}

const worker = (pool: string, script = 'setTimeout(() => {}, 1500)') => ({
  metadata: { labels: { app: 'gang' } },
  spec: {
    restartPolicy: 'Never',
    terminationGracePeriodSeconds: 1,
    nodeSelector: { 'kiln.dev/pool': pool },
    containers: [
      {
        name: 'main',
        image: 'kiln-test',
        command: ['node', '-e', script],
        resources: { requests: { cpu: '1' }, limits: { 'nvidia.com/gpu': '1' } },
      },
    ],
  },
});

async function requestCapacity(ns: string, name: string, pool: string, count: number, script?: string) {
  await k.core.createNamespacedPodTemplate({
    namespace: ns,
    body: { metadata: { name }, template: worker(pool, script) as never },
  });
  await custom().createNamespacedCustomObject({
    group,
    version: 'v1',
    namespace: ns,
    plural: 'provisioningrequests',
    body: {
      apiVersion: `${group}/v1`,
      kind: 'ProvisioningRequest',
      metadata: { name },
      spec: { provisioningClassName: className, podSets: [{ podTemplateRef: { name }, count }] },
    },
  });
}

type Condition = { type: string; status: string; reason?: string; message?: string };
async function conditions(ns: string, name: string): Promise<Condition[]> {
  const pr = (await custom().getNamespacedCustomObject({
    group,
    version: 'v1',
    namespace: ns,
    plural: 'provisioningrequests',
    name,
  })) as { status?: { conditions?: Condition[] } };
  return pr.status?.conditions ?? [];
}
const has = (conds: Condition[], type: string, status: string) =>
  conds.find((c) => c.type === type && c.status === status);

async function consume(ns: string, pr: string, pool: string, count: number, script?: string) {
  for (let i = 0; i < count; i++) {
    const spec = worker(pool, script);
    await k.core.createNamespacedPod({
      namespace: ns,
      body: {
        ...spec,
        metadata: {
          name: `${pr}-${i}`,
          labels: spec.metadata.labels,
          annotations: {
            'autoscaling.x-k8s.io/consume-provisioning-request': pr,
            'autoscaling.x-k8s.io/provisioning-class-name': className,
          },
        },
      } as V1Pod,
    });
  }
}

async function release(ns: string, name: string) {
  await custom()
    .deleteNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: ns,
      plural: 'provisioningrequests',
      name,
    })
    .catch(() => {});
  await k.core.deleteNamespacedPodTemplate({ name, namespace: ns }).catch(() => {});
}

const poolNodes = async (pool: string) =>
  (await k.core.listNode({ labelSelector: `kiln.dev/pool=${pool}` })).items.map((n) => n.metadata!.name!);

test('scale from zero: a 4 × 1-GPU gang gets exactly 4 nodes, runs to Succeeded, and the nodes go after', async () => {
  const ns = await k.namespace('zero');
  const rec = record();
  assert.deepEqual(await poolNodes('zero'), []);
  await requestCapacity(ns, 'gang', 'zero', 4);
  const provisioned = await until('Provisioned=True', async () =>
    has(await conditions(ns, 'gang'), 'Provisioned', 'True'),
  );
  // CapacityIsProvisioned when the loop that scaled up also wrote the condition; CapacityIsFound when a
  // later loop wrote it and counted the nodes already on their way. Either way the nodes came from this
  // request's scale-up: the count below asserts exactly 4 were asked for.
  assert.ok(
    ['CapacityIsProvisioned', 'CapacityIsFound'].includes(provisioned.reason ?? ''),
    `Provisioned=True with reason ${provisioned.reason}`,
  );
  await consume(ns, 'gang', 'zero', 4);
  const pods = await until('4 pods Succeeded', async () => {
    const list = (await k.core.listNamespacedPod({ namespace: ns })).items;
    return list.length === 4 && list.every((p) => p.status?.phase === 'Succeeded') ? list : undefined;
  });
  const nodes = new Set(pods.map((p) => p.spec!.nodeName));
  assert.equal(nodes.size, 4, 'one pod per 1-GPU node');
  for (const n of nodes) assert.match(n ?? '', /^zero-\d+$/);
  const asked = rec.events.filter((e) => e.pool === 'zero' && e.type === 'increase');
  assert.equal(
    asked.reduce((s, e) => s + (e.delta ?? 0), 0),
    4,
    `exactly the nodes needed: ${JSON.stringify(asked)}`,
  );
  // Pods bound: the booking is no longer needed (CA keeps booked capacity for 10 min otherwise).
  await release(ns, 'gang');
  await until('the pool back at zero', async () => (await poolNodes('zero')).length === 0, 120_000);
  assert.equal(cloud().targetSize('zero'), 0);
  rec.stop();
});

test('atomicity: a gang larger than the pool maximum creates no node and the request says why', async () => {
  const ns = await k.namespace('atomic');
  const rec = record();
  await requestCapacity(ns, 'big', 'small', 3);
  const refused = await until('Provisioned=False', async () =>
    has(await conditions(ns, 'big'), 'Provisioned', 'False'),
  );
  assert.equal(refused.reason, 'CapacityIsNotFound');
  assert.deepEqual(
    rec.events.filter((e) => e.pool === 'small'),
    [],
    'not a single node started for a gang that cannot fit whole',
  );
  assert.deepEqual(await poolNodes('small'), []);
  await release(ns, 'big');
  rec.stop();
});

test('stock-out: the scale-up fails, the request is retried, and it is provisioned once capacity returns', async () => {
  const ns = await k.namespace('stock');
  const rec = record();
  cloud().setStockOut('scarce', 'reject');
  try {
    await requestCapacity(ns, 'gang', 'scarce', 2);
    const failed = await until('Provisioned=False after a refused scale-up', async () => {
      const c = has(await conditions(ns, 'gang'), 'Provisioned', 'False');
      return c && rec.events.some((e) => e.type === 'rejected' && e.pool === 'scarce') ? c : undefined;
    });
    assert.equal(failed.reason, 'CapacityIsNotFound');
    assert.deepEqual(await poolNodes('scarce'), []);
  } finally {
    cloud().setStockOut('scarce', false);
  }
  await until('Provisioned=True after the stock-out ends', async () =>
    has(await conditions(ns, 'gang'), 'Provisioned', 'True'),
  );
  await consume(ns, 'gang', 'scarce', 2);
  await until('2 pods Succeeded', async () => {
    const list = (await k.core.listNamespacedPod({ namespace: ns })).items;
    return list.length === 2 && list.every((p) => p.status?.phase === 'Succeeded');
  });
  assert.ok(
    rec.events.filter((e) => e.type === 'rejected').length >= 1,
    'the autoscaler really asked during the stock-out',
  );
  await release(ns, 'gang');
  rec.stop();
});

test('the autoscaler killed right after it asked for nodes: restarted, it adds none twice and the gang runs', async () => {
  const ns = await k.namespace('crash');
  const rec = record();
  const scaled = new Promise<void>((resolve) => {
    const off = cloud().on((e) => {
      if (e.type === 'increase' && e.pool === 'crash') {
        off();
        resolve();
      }
    });
  });
  await requestCapacity(ns, 'gang', 'crash', 3);
  await scaled;
  await k.cluster!.autoscaling!.autoscaler.kill();
  await k.cluster!.autoscaling!.restart();
  await until('Provisioned=True', async () => has(await conditions(ns, 'gang'), 'Provisioned', 'True'));
  await consume(ns, 'gang', 'crash', 3);
  await until('3 pods Succeeded', async () => {
    const list = (await k.core.listNamespacedPod({ namespace: ns })).items;
    return list.length === 3 && list.every((p) => p.status?.phase === 'Succeeded');
  });
  const added = rec.events.filter((e) => e.pool === 'crash' && e.type === 'increase');
  assert.equal(
    added.reduce((s, e) => s + (e.delta ?? 0), 0),
    3,
    `no duplicate nodes: ${JSON.stringify(added)}`,
  );
  assert.equal((await poolNodes('crash')).length, 3);
  await release(ns, 'gang');
  await until('the pool back at zero', async () => (await poolNodes('crash')).length === 0, 120_000);
  rec.stop();
});

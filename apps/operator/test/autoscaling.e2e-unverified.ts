// NOT YET PASSING — hence not named *.test.ts, so `npm test` does not pick it up. Atomicity, stock-out
// and the operator killed mid-scale-up pass. Scale from zero runs to Succeeded with exactly its nodes, but
// the gang was admitted as GangAdmitted (the new nodes fit) before the operator acted on Provisioned=True
// (CapacityProvisioned): which of the two should win that race is still to decide. Run it with
//   node --conditions=kiln-src --import @swc-node/register/esm-register --test apps/operator/test/autoscaling.e2e-unverified.ts
// and rename it to autoscaling.test.ts once it passes.
// The operator with the real Cluster Autoscaler (deploy/local-cluster builds and runs it; the node agent
// is its cloud). A gang that does not fit asks for its whole capacity with one ProvisioningRequest,
// waits Queued with a reason that says so, and is admitted when CA has provisioned it; requests and
// templates are gone once the pods are bound; nodes go after the job. Cases ported from Kueue's
// ProvisioningRequest admission check (test/integration/singlecluster/controller/admissionchecks/
// provisioning: "should create provisioning requests", "should retry when ProvisioningRequest is
// Failed", "should not leak" — kueue#12654) and from the autoscaler's atomic scale-up behaviour.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { CloudEvent, LocalCloud } from '@kiln/local-cluster';
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

const pool = (id: string, max: number) => ({
  id,
  min: 0,
  max,
  bootDelayMs: 1000,
  template: { cpu: '4', memory: '16Gi', gpus: 1 },
});
const c = operatorCluster([{ name: 'static-cpu', cpu: '8', memory: '32Gi' }], {
  autoscaling: { pools: [pool('zero', 4), pool('small', 2), pool('scarce', 2), pool('crash', 2)] },
});

const cloud = (): LocalCloud => c.k.cluster!.autoscaling!.cloud;
const short = ['node', '-e', 'setTimeout(() => {}, 1500)'];
const onPool = (id: string) => ({ nodeSelector: { 'kiln.dev/pool': id }, gangTimeoutSeconds: 120 });

function caTail(): string {
  try {
    const log = readFileSync(c.k.cluster!.autoscaling!.autoscaler.logFile, 'utf8').split('\n');
    return `\n--- cluster-autoscaler log ---\n${log.slice(-30).join('\n')}`;
  } catch {
    return '';
  }
}
async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 90_000): Promise<T> {
  try {
    return await waitFor(what, fn, ms);
  } catch (err) {
    throw new Error(`${(err as Error).message}${caTail()}`);
  }
}
function record(): CloudEvent[] {
  const events: CloudEvent[] = [];
  cloud().on((e) => events.push(e));
  return events;
}
const added = (events: CloudEvent[], id: string) =>
  events.filter((e) => e.pool === id && e.type === 'increase').reduce((s, e) => s + (e.delta ?? 0), 0);
const poolNodes = async (id: string) =>
  (await c.k.core.listNode({ labelSelector: `kiln.dev/pool=${id}` })).items;
const requests = async (ns: string) =>
  (
    (await c.custom().listNamespacedCustomObject({
      group: 'autoscaling.x-k8s.io',
      version: 'v1',
      plural: 'provisioningrequests',
      namespace: ns,
    })) as { items: { metadata: { name: string } }[] }
  ).items.map((r) => r.metadata.name);
const templates = async (ns: string) =>
  (await c.k.core.listNamespacedPodTemplate({ namespace: ns })).items.map((t) => t.metadata!.name!);
const queuedCondition = async (ns: string, name: string) =>
  (await getJob(c, ns, name)).status?.conditions?.find((x) => x.type === 'Queued' && x.status === 'True');

let operator: ReturnType<typeof c.spawnOperator>;
// Inside a describe: root-level before() hooks may run alongside the cluster helper's own.
describe('gangs provisioned by the Cluster Autoscaler', () => {
  before(
    async () => {
      // As in production: its own process, so the crash test can kill it.
      operator = c.spawnOperator();
      await operator.leading;
    },
    { timeout: 240_000 },
  );
  after(() => void operator?.kill('SIGTERM'));

  test('scale from zero: 4 × 1-GPU gang → exactly 4 nodes, Succeeded, request and template gone, nodes removed after', async () => {
    const ns = await c.namespace('zero');
    const seen = record();
    await createJob(
      c,
      trainingJob(ns, 'big', { workers: 4, gpus: 1, command: short, scheduling: onPool('zero') }),
    );
    const waiting = await until('Queued for capacity', async () => {
      const q = await queuedCondition(ns, 'big');
      return q?.reason === 'ProvisioningCapacity' ? q : undefined;
    });
    assert.match(waiting.message ?? '', /capacity for 4 workers \(ProvisioningRequest big-cap-1/);
    // The operator writes status first, then acts: the request follows the condition that names it.
    await until('the ProvisioningRequest created', async () =>
      JSON.stringify(await requests(ns)) === JSON.stringify(['big-cap-1']) ? true : undefined,
    );
    const done = await waitPhase(c, ns, 'big', 'Succeeded', 120_000);
    const starting = done.status?.conditions?.find((x) => x.type === 'Starting');
    assert.equal(starting?.reason, 'CapacityProvisioned');
    const pods = await jobPods(c, ns, 'big');
    assert.equal(new Set(pods.map((p) => p.spec?.nodeName)).size, 4);
    for (const p of pods) {
      assert.equal(
        p.metadata?.annotations?.['autoscaling.x-k8s.io/consume-provisioning-request'],
        'big-cap-1',
      );
      assert.equal(p.metadata?.annotations?.['cluster-autoscaler.kubernetes.io/safe-to-evict'], 'false');
    }
    assert.equal(added(seen, 'zero'), 4, 'exactly the nodes the gang needs');
    await until(
      'request and template deleted',
      async () => (await requests(ns)).length + (await templates(ns)).length === 0,
    );
    assert.ok((await events(c, ns, 'big')).includes('ProvisioningCapacity'));
    await until('the pool back at zero', async () => (await poolNodes('zero')).length === 0, 120_000);
  });

  test('atomicity: a gang larger than the pool maximum creates no node and stays Queued saying why', async () => {
    const ns = await c.namespace('atomic');
    const seen = record();
    await createJob(
      c,
      trainingJob(ns, 'huge', { workers: 3, gpus: 1, command: short, scheduling: onPool('small') }),
    );
    const q = await until('CA refusal in the reason', async () => {
      const cond = await queuedCondition(ns, 'huge');
      return cond?.reason === 'ProvisioningCapacity' && /CapacityIsNotFound/.test(cond.message ?? '')
        ? cond
        : undefined;
    });
    assert.match(q.message ?? '', /capacity for 3 workers/);
    assert.equal(added(seen, 'small'), 0);
    assert.deepEqual(await poolNodes('small'), []);
    assert.deepEqual(await jobPods(c, ns, 'huge'), []);
    await c.custom().deleteNamespacedCustomObject({
      group: 'kiln.dev',
      version: 'v1alpha1',
      plural: 'trainingjobs',
      namespace: ns,
      name: 'huge',
    });
    await until(
      'request and template deleted with the job',
      async () => (await requests(ns)).length + (await templates(ns)).length === 0,
    );
  });

  test('stock-out: the request is refused and retried; the job runs once capacity returns', async () => {
    const ns = await c.namespace('stock');
    const seen = record();
    cloud().setStockOut('scarce', 'reject');
    try {
      await createJob(
        c,
        trainingJob(ns, 'gang', { workers: 2, gpus: 1, command: short, scheduling: onPool('scarce') }),
      );
      await until('a refused scale-up, shown on the job', async () => {
        const cond = await queuedCondition(ns, 'gang');
        return (
          seen.some((e) => e.type === 'rejected' && e.pool === 'scarce') &&
          /CapacityIsNotFound/.test(cond?.message ?? '')
        );
      });
      assert.deepEqual(await poolNodes('scarce'), []);
    } finally {
      cloud().setStockOut('scarce', false);
    }
    await waitPhase(c, ns, 'gang', 'Succeeded', 120_000);
    assert.equal(added(seen, 'scarce'), 2);
    await until(
      'request and template deleted',
      async () => (await requests(ns)).length + (await templates(ns)).length === 0,
    );
  });

  test('operator killed mid-scale-up: a new one carries on; one request at a time, no duplicate nodes, nothing leaked', async () => {
    const ns = await c.namespace('opkill');
    const seen = record();
    await createJob(
      c,
      trainingJob(ns, 'gang', { workers: 2, gpus: 1, command: short, scheduling: onPool('crash') }),
    );
    await until('scale-up asked for', async () => added(seen, 'crash') > 0);
    operator.kill('SIGKILL');
    operator = c.spawnOperator();
    await operator.leading;
    await waitPhase(c, ns, 'gang', 'Succeeded', 120_000);
    assert.equal(added(seen, 'crash'), 2, 'no duplicate nodes');
    await until(
      'request and template deleted',
      async () => (await requests(ns)).length + (await templates(ns)).length === 0,
    );
  });
});

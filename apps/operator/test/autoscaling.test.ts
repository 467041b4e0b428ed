// The operator with the real Cluster Autoscaler (deploy/local-cluster builds and runs it; the node agent
// is its cloud). A gang that does not fit asks for its whole capacity with one ProvisioningRequest,
// waits Queued with a reason that says so (`kubectl get tj`: REASON and SINCE), and is admitted when CA
// has provisioned it, its pods consuming the request and not evictable by scale-down; requests and
// templates go once the pods are bound or the job is suspended or deleted; nodes go after the job.
// Cases ported from Kueue's ProvisioningRequest admission check (kubernetes-sigs/kueue
// test/integration/singlecluster/controller/admissionchecks/provisioning and
// pkg/controller/admissionchecks/provisioning/controller_test.go: "when request is provisioned",
// "when request fails and is retried", "request removed on workload finished / evicted" — kueue#12654)
// and from the autoscaler's atomic scale-up. Each case has its own pool (pods select it by label), so
// CA's decisions for one case cannot satisfy another; all share one cluster to keep the suite lean.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { CloudEvent, LocalCloud } from '@kiln/local-cluster';
import { API_GROUP, API_VERSION, TRAININGJOB_PLURAL } from '@kiln/spec';
import type { V1Pod } from '@kubernetes/client-node';
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
  autoscaling: {
    pools: [
      pool('zero', 4),
      pool('small', 2),
      pool('scarce', 2),
      pool('crash', 2),
      pool('grow', 3),
      pool('two', 4),
    ],
  },
});

const cloud = (): LocalCloud => c.k.cluster!.autoscaling!.cloud;
const sleep = (ms: number) => ['node', '-e', `setTimeout(() => {}, ${ms})`];
const onPool = (id: string) => ({ nodeSelector: { 'kiln.dev/pool': id }, gangTimeoutSeconds: 120 });
const CONSUME = 'autoscaling.x-k8s.io/consume-provisioning-request';
const SAFE_TO_EVICT = 'cluster-autoscaler.kubernetes.io/safe-to-evict';
const PR = { group: 'autoscaling.x-k8s.io', version: 'v1', plural: 'provisioningrequests' };

/** What the cloud and CA saw, for a failure message: instances and their state, then CA's last lines. */
function caTail(): string {
  const instances = cloud()
    .listInstances()
    .map(
      (i) =>
        `${i.name} ${i.state}${i.error ? ` ${i.error.code}` : ''} after ${(i.readyMs ?? Date.now()) - i.createdMs} ms`,
    );
  let log: string[] = [];
  try {
    log = readFileSync(c.k.cluster!.autoscaling!.autoscaler.logFile, 'utf8').split('\n').slice(-30);
  } catch {}
  return `\n--- cloud instances ---\n${instances.join('\n')}\n--- cluster-autoscaler log ---\n${log.join('\n')}`;
}
async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 90_000): Promise<T> {
  try {
    return await waitFor(what, fn, ms);
  } catch (err) {
    throw new Error(`${(err as Error).message}${caTail()}`);
  }
}
function record(): CloudEvent[] {
  const seen: CloudEvent[] = [];
  cloud().on((e) => seen.push(e));
  return seen;
}
const added = (seen: CloudEvent[], id: string) =>
  seen.filter((e) => e.pool === id && e.type === 'increase').reduce((s, e) => s + (e.delta ?? 0), 0);
const poolNodes = async (id: string) =>
  (await c.k.core.listNode({ labelSelector: `kiln.dev/pool=${id}` })).items;
const requests = async (ns: string) =>
  (
    (await c.custom().listNamespacedCustomObject({ ...PR, namespace: ns })) as {
      items: { metadata: { name: string } }[];
    }
  ).items.map((r) => r.metadata.name);
const templates = async (ns: string) =>
  (await c.k.core.listNamespacedPodTemplate({ namespace: ns })).items.map((t) => t.metadata!.name!);
const nothingLeft = async (ns: string) => (await requests(ns)).length + (await templates(ns)).length === 0;
const queuedCondition = async (ns: string, name: string) =>
  (await getJob(c, ns, name)).status?.conditions?.find((x) => x.type === 'Queued' && x.status === 'True');
const consumed = (pods: V1Pod[]) => new Set(pods.map((p) => p.metadata?.annotations?.[CONSUME]));
const deleteJob = (ns: string, name: string) =>
  c.custom().deleteNamespacedCustomObject({
    group: API_GROUP,
    version: API_VERSION,
    plural: TRAININGJOB_PLURAL,
    namespace: ns,
    name,
  });

const suspend = (ns: string, name: string, value: boolean) =>
  c.custom().patchNamespacedCustomObject({
    group: API_GROUP,
    version: API_VERSION,
    plural: TRAININGJOB_PLURAL,
    namespace: ns,
    name,
    body: [{ op: 'add', path: '/spec/runPolicy/suspend', value }],
  });

let operator: ReturnType<typeof c.spawnOperator>;
const spawn = () => c.spawnOperator(['--elastic-cooldown-seconds=1']);
// Inside a describe: root-level before() hooks may run alongside the cluster helper's own.
describe('gangs provisioned by the Cluster Autoscaler', () => {
  before(
    async () => {
      // As in production: its own process, so the crash case can kill it.
      operator = spawn();
      await operator.leading;
    },
    { timeout: 240_000 },
  );
  after(() => void operator?.kill('SIGTERM'));

  test('scale from zero: 4 × 1-GPU gang waits for nodes, gets exactly 4, runs consuming the request, nodes removed after', async () => {
    const ns = await c.namespace('zero');
    const seen = record();
    await createJob(
      c,
      trainingJob(ns, 'big', { workers: 4, gpus: 1, command: sleep(4000), scheduling: onPool('zero') }),
    );
    // Queued for about one CA loop: once admitted the condition turns False and keeps the reason and
    // message it had, so a poll that comes late still reads why the job waited.
    const waiting = await until('Queued for capacity', async () => {
      const q = (await getJob(c, ns, 'big')).status?.conditions?.find((x) => x.type === 'Queued');
      return q?.reason === 'ProvisioningCapacity' ? q : undefined;
    });
    assert.match(waiting.message ?? '', /capacity for 4 workers \(ProvisioningRequest big-cap-1/);
    // The request in flight wins over the nodes appearing: the gang is admitted on Provisioned=True.
    const running = await waitPhase(c, ns, 'big', 'Running', 90_000);
    assert.equal(
      running.status?.conditions?.find((x) => x.type === 'Starting')?.reason,
      'CapacityProvisioned',
    );
    const pods = await jobPods(c, ns, 'big');
    assert.equal(pods.length, 4);
    for (const p of pods) {
      assert.equal(p.status?.phase, 'Running');
      assert.equal(p.metadata?.annotations?.[CONSUME], 'big-cap-1');
      assert.equal(
        p.metadata?.annotations?.['autoscaling.x-k8s.io/provisioning-class-name'],
        'best-effort-atomic-scale-up.autoscaling.x-k8s.io',
      );
      assert.equal(p.metadata?.annotations?.[SAFE_TO_EVICT], 'false');
    }
    assert.equal(new Set(pods.map((p) => p.spec?.nodeName)).size, 4);
    await until('request and template deleted once the pods are bound', () => nothingLeft(ns));
    await waitPhase(c, ns, 'big', 'Succeeded', 60_000);
    assert.equal(added(seen, 'zero'), 4, 'exactly the nodes the gang needs');
    assert.ok((await events(c, ns, 'big')).includes('ProvisioningCapacity'));
    await until('the pool back at zero', async () => (await poolNodes('zero')).length === 0, 120_000);
  });

  test('atomicity: a gang larger than the pool maximum creates no node, stays Queued saying why (kubectl get tj says so); its request goes when it is suspended, and when it is deleted', async () => {
    const ns = await c.namespace('atomic');
    const seen = record();
    await createJob(
      c,
      trainingJob(ns, 'huge', { workers: 3, gpus: 1, command: sleep(1500), scheduling: onPool('small') }),
    );
    const q = await until('CA refusal in the reason', async () => {
      const cond = await queuedCondition(ns, 'huge');
      return cond?.reason === 'ProvisioningCapacity' && /CapacityIsNotFound/.test(cond.message ?? '')
        ? cond
        : undefined;
    });
    assert.match(q.message ?? '', /capacity for 3 workers/);
    // REASON and SINCE: waiting for nodes, and for how long. Checked on a gang that stays Queued: the
    // scale-from-zero gang is Queued only until CA's next loop (about a second), too short to poll.
    const get = await c.k.kubectl(['get', 'tj', '-n', ns, '--no-headers']);
    assert.match(get.stdout, /^huge\s+Queued\s.*ProvisioningCapacity\s+\d+s\s*$/m, get.stderr);
    assert.equal(added(seen, 'small'), 0);
    assert.deepEqual(await poolNodes('small'), []);
    assert.deepEqual(await jobPods(c, ns, 'huge'), []);
    await suspend(ns, 'huge', true);
    await until('request and template deleted on suspend', () => nothingLeft(ns));
    await waitPhase(c, ns, 'huge', 'Suspended');
    await suspend(ns, 'huge', false);
    await until('resumed, it asks again', async () => (await requests(ns)).includes('huge-cap-1'));
    await deleteJob(ns, 'huge');
    await until('request and template deleted with the job', () => nothingLeft(ns));
    assert.equal(added(seen, 'small'), 0);
  });

  test('stock-out, then the request fails: retried with backoff under a new name; the job runs once capacity returns', async () => {
    const ns = await c.namespace('stock');
    const seen = record();
    cloud().setStockOut('scarce', 'reject');
    try {
      await createJob(
        c,
        trainingJob(ns, 'gang', { workers: 2, gpus: 1, command: sleep(1500), scheduling: onPool('scarce') }),
      );
      await until('a refused scale-up, shown on the job', async () => {
        const cond = await queuedCondition(ns, 'gang');
        return (
          seen.some((e) => e.type === 'rejected' && e.pool === 'scarce') &&
          /CapacityIsNotFound/.test(cond?.message ?? '')
        );
      });
      assert.deepEqual(await poolNodes('scarce'), []);
      // CA fails a request it could not provision in its expiry time (7 days; Failed=True, Expired).
      // Too long for a test: write the condition CA writes, through the status subresource as CA does.
      const pr = (await c.custom().getNamespacedCustomObjectStatus({
        ...PR,
        namespace: ns,
        name: 'gang-cap-1',
      })) as { status?: { conditions?: Record<string, unknown>[] } };
      const failed = {
        type: 'Failed',
        status: 'True',
        reason: 'Expired',
        message: 'ProvisioningRequest is expired',
        lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      };
      const conditions = [...(pr.status?.conditions ?? []), failed];
      await c.custom().patchNamespacedCustomObjectStatus({
        ...PR,
        namespace: ns,
        name: 'gang-cap-1',
        body: [{ op: 'add', path: '/status', value: { ...pr.status, conditions } }],
      });
      const retry = await until('the retry announced', async () => {
        const cond = await queuedCondition(ns, 'gang');
        return cond?.reason === 'ProvisioningRetry' ? cond : undefined;
      });
      assert.match(retry.message ?? '', /gang-cap-1 failed \(Expired: .*asking again as gang-cap-2 in 5 s/);
      await until(
        'asked again under the next name, the failed one gone',
        async () => JSON.stringify(await requests(ns)) === JSON.stringify(['gang-cap-2']),
      );
    } finally {
      cloud().setStockOut('scarce', false);
    }
    const done = await waitPhase(c, ns, 'gang', 'Succeeded', 90_000);
    assert.match(
      done.status?.conditions?.find((x) => x.type === 'Starting')?.message ?? '',
      /ProvisioningRequest gang-cap-2/,
    );
    assert.equal(added(seen, 'scarce'), 2);
    await until('request and template deleted', () => nothingLeft(ns));
  });

  test('operator and autoscaler each SIGKILLed mid-scale-up: the job converges, no duplicate nodes, nothing leaked', async () => {
    const ns = await c.namespace('opkill');
    const seen = record();
    await createJob(
      c,
      trainingJob(ns, 'gang', { workers: 2, gpus: 1, command: sleep(1500), scheduling: onPool('crash') }),
    );
    await until('the request created', async () => (await requests(ns)).includes('gang-cap-1'));
    operator.kill('SIGKILL');
    await until('scale-up asked for', async () => added(seen, 'crash') > 0);
    await c.k.cluster!.autoscaling!.autoscaler.kill();
    await c.k.cluster!.autoscaling!.restart();
    operator = spawn();
    await operator.leading;
    const done = await waitPhase(c, ns, 'gang', 'Succeeded', 90_000);
    assert.equal(done.status?.conditions?.find((x) => x.type === 'Starting')?.reason, 'CapacityProvisioned');
    assert.deepEqual([...consumed(await jobPods(c, ns, 'gang'))], ['gang-cap-1'], 'one request, kept');
    assert.equal(added(seen, 'crash'), 2, 'no duplicate nodes');
    await until('request and template deleted', () => nothingLeft(ns));
  });

  test('two queued jobs: the second, not fitting either, triggers its own scale-up; both run on their own requests', async () => {
    const ns = await c.namespace('two');
    const seen = record();
    for (const name of ['first', 'second']) {
      await createJob(
        c,
        trainingJob(ns, name, { workers: 2, gpus: 1, command: sleep(1500), scheduling: onPool('two') }),
      );
    }
    for (const name of ['first', 'second']) {
      await waitPhase(c, ns, name, 'Succeeded', 90_000);
      assert.deepEqual([...consumed(await jobPods(c, ns, name))], [`${name}-cap-1`]);
      assert.ok((await events(c, ns, name)).includes('ProvisioningCapacity'), name);
    }
    assert.equal(added(seen, 'two'), 4);
    await until('requests and templates deleted', () => nothingLeft(ns));
  });

  test('an elastic job grows when the pool grows: a grow request for the missing workers, then a 3-worker gang on it', async () => {
    const ns = await c.namespace('grow');
    const seen = record();
    await createJob(
      c,
      trainingJob(ns, 'el', {
        gpus: 1,
        command: sleep(120_000),
        scheduling: onPool('grow'),
        elastic: { minWorkers: 1, maxWorkers: 3 },
      }),
    );
    const grown = await waitPhase(
      c,
      ns,
      'el',
      (j) => j.status?.phase === 'Running' && j.status.workers?.running === 3,
      90_000,
    );
    assert.equal(grown.status?.restarts ?? 0, 0, 'growing is not a failure');
    const pods = await jobPods(c, ns, 'el');
    assert.equal(pods.length, 3);
    assert.deepEqual([...consumed(pods)], ['el-grow-1']);
    assert.ok(pods.every((p) => p.metadata?.annotations?.[SAFE_TO_EVICT] === 'false'));
    assert.equal(added(seen, 'grow'), 3, 'one node for the minimum, two to grow');
    await until('requests and templates deleted once the grown gang is bound', () => nothingLeft(ns));
    await deleteJob(ns, 'el');
  });
});

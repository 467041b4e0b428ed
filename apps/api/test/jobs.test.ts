// Job endpoints against the real Kubernetes control plane (deploy/local-cluster): TrainingJobs are
// created, listed, suspended, resumed and deleted in the project's namespace, and run status follows
// the TrainingJob's status through a watch.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { clusterForTests, waitFor } from '@kiln/local-cluster/test-helper';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { KubeJobBackend } from '../src/jobs/backend.js';
import { ADMIN, startApi, type TestApi } from './support/api.js';

const k = clusterForTests({ nodes: [] });
let api: TestApi;
let ns = '';
let project = '';
let token = '';

const job = (name: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name },
  spec: {
    image: 'registry.example/kiln-trainer:0.1',
    command: ['kiln', 'fit', 'examples/mnist/train.ts'],
    workers: 2,
    hyperparameters: { lr: 0.001 },
    tracking: { project: 'p', runName: `${name}-run` },
    ...extra,
  },
});

// Inside a describe: root-level before() hooks may run alongside the cluster helper's own.
describe('job endpoints on the local control plane', () => {
  before(async () => {
    await k.installTrainingJobCrd();
    ns = await k.namespace('jobs');
    api = await startApi('jobs', {}, new KubeJobBackend(k.kc));
    const p = await api.call(ADMIN, 'POST', '/api/v1/projects', { name: 'jobs', namespace: ns });
    project = p.body.id;
    token = (
      await api.call(ADMIN, 'POST', `/api/v1/projects/${project}/tokens`, { name: 'w', scope: 'write' })
    ).body.token;
  });
  after(() => api?.close());

  test('submit creates the TrainingJob in the project namespace, a run, and a Secret with a run-scoped token', async () => {
    const r = await api.call(token, 'POST', `/api/v1/projects/${project}/jobs`, job('mnist'));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const runId = r.body.runId;
    assert.equal(r.body.job.metadata.namespace, ns);
    assert.equal(r.body.job.metadata.labels['kiln.dev/run-id'], runId);
    assert.equal(r.body.job.spec.runPolicy.maxRestarts, 3, 'defaults from @kiln/spec are filled in');
    const run = await api.call(token, 'GET', `/api/v1/runs/${runId}`);
    assert.deepEqual(run.body.job, { namespace: ns, name: 'mnist', uid: r.body.job.metadata.uid });
    assert.equal(run.body.name, 'mnist-run');
    assert.deepEqual(run.body.hyperparams, { lr: 0.001 });
    const secret = await k.core.readNamespacedSecret({ name: 'mnist-tracking', namespace: ns });
    const runToken = Buffer.from(secret.data!.KILN_TRACKING_TOKEN!, 'base64').toString();
    const ingest = await api.call(runToken, 'POST', `/api/v1/runs/${runId}/metrics`, {
      points: [{ key: 'loss', step: 1, value: 1 }],
    });
    assert.equal(ingest.status, 200);
    assert.equal(
      (await api.call(runToken, 'POST', `/api/v1/projects/${project}/runs`, { name: 'x' })).status,
      403,
    );

    const dup = await api.call(token, 'POST', `/api/v1/projects/${project}/jobs`, job('mnist'));
    assert.equal(dup.status, 400);
    assert.match(dup.body.message, /body\.metadata\.name: a TrainingJob named mnist already exists/);
  });

  test('list (filter, sort, paginate) and get', async () => {
    assert.equal(
      (await api.call(token, 'POST', `/api/v1/projects/${project}/jobs`, job('alpha'))).status,
      201,
    );
    const all = await api.call(token, 'GET', `/api/v1/projects/${project}/jobs?sort=name`);
    assert.deepEqual(
      all.body.items.map((j: { metadata: { name: string } }) => j.metadata.name),
      ['alpha', 'mnist'],
    );
    const page = await api.call(token, 'GET', `/api/v1/projects/${project}/jobs?sort=name&limit=1&offset=1`);
    assert.deepEqual([page.body.total, page.body.items[0].metadata.name], [2, 'mnist']);
    assert.equal(
      (await api.call(token, 'GET', `/api/v1/projects/${project}/jobs/alpha`)).body.spec.workers,
      2,
    );
    assert.equal((await api.call(token, 'GET', `/api/v1/projects/${project}/jobs/nope`)).status, 404);
  });

  test('suspend and resume set spec.runPolicy.suspend', async () => {
    const s = await api.call(token, 'POST', `/api/v1/projects/${project}/jobs/alpha/suspend`);
    assert.equal(s.status, 200, JSON.stringify(s.body));
    assert.equal(s.body.spec.runPolicy.suspend, true);
    const r = await api.call(token, 'POST', `/api/v1/projects/${project}/jobs/alpha/resume`);
    assert.equal(r.body.spec.runPolicy.suspend, false);
    assert.equal(
      (await api.call(token, 'POST', `/api/v1/projects/${project}/jobs/nope/suspend`)).status,
      404,
    );
  });

  test('run status follows the TrainingJob status; cancel deletes the job and marks the run cancelled', async () => {
    const sub = await api.call(token, 'POST', `/api/v1/projects/${project}/jobs`, job('synced'));
    const runId = sub.body.runId;
    const custom = k.kc.makeApiClient(CustomObjectsApi);
    // What the operator does: write status.phase and status.progress.
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: 'kiln.dev',
        version: 'v1alpha1',
        namespace: ns,
        plural: 'trainingjobs',
        name: 'synced',
        body: {
          status: {
            phase: 'Running',
            progress: { step: 1500, totalSteps: 5000, epoch: 1, percent: 30, etaSeconds: 420 },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const running = await waitFor('run status running', async () => {
      const r = await api.call(token, 'GET', `/api/v1/runs/${runId}`);
      return r.body.status === 'running' ? r.body : undefined;
    });
    assert.deepEqual(
      [running.progress.step, running.progress.totalSteps, running.progress.etaSeconds],
      [1500, 5000, 420],
    );
    assert.ok(running.startedAt);
    assert.equal((await api.call(token, 'DELETE', `/api/v1/projects/${project}/jobs/synced`)).status, 204);
    await waitFor(
      'run status cancelled',
      async () => (await api.call(token, 'GET', `/api/v1/runs/${runId}`)).body.status === 'cancelled',
    );
    assert.equal((await api.call(token, 'DELETE', `/api/v1/projects/${project}/jobs/synced`)).status, 404);
    const events = await api.call(token, 'GET', `/api/v1/runs/${runId}/events`);
    assert.ok(events.body.some((e: { message: string }) => /running → cancelled/.test(e.message)));
  });

  test("a job's Kubernetes events: its own and its worker pods', newest first, nobody else's", async () => {
    assert.equal(
      (await api.call(token, 'POST', `/api/v1/projects/${project}/jobs`, job('evjob'))).status,
      201,
    );
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const event = (kind: string, name: string, reason: string, s: number, type = 'Normal') =>
      k.core.createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { generateName: `${name}.`, namespace: ns },
          involvedObject: {
            kind,
            name,
            namespace: ns,
            apiVersion: kind === 'Pod' ? 'v1' : 'kiln.dev/v1alpha1',
          },
          type,
          reason,
          message: `${reason} on ${name}`,
          firstTimestamp: at(s),
          lastTimestamp: at(s),
          count: s,
          source: { component: 'test' },
        },
      });
    await event('TrainingJob', 'evjob', 'Admitted', 1);
    await event('Pod', 'evjob-worker-1', 'FailedScheduling', 3, 'Warning');
    await event('Pod', 'evjob-worker-0', 'Scheduled', 2);
    // Not this job's: another job, another job's pod, a pod whose name only starts like a worker's.
    await event('TrainingJob', 'mnist', 'Admitted', 4);
    await event('Pod', 'mnist-worker-0', 'Scheduled', 5);
    await event('Pod', 'evjob-worker-1-debug', 'Scheduled', 6);
    const r = await api.call(token, 'GET', `/api/v1/projects/${project}/jobs/evjob/events`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(
      r.body.items.map(
        (e: { object: { kind: string; name: string }; reason: string; type: string; count: number }) => [
          `${e.object.kind}/${e.object.name}`,
          e.reason,
          e.type,
          e.count,
        ],
      ),
      [
        ['Pod/evjob-worker-1', 'FailedScheduling', 'Warning', 3],
        ['Pod/evjob-worker-0', 'Scheduled', 'Normal', 2],
        ['TrainingJob/evjob', 'Admitted', 'Normal', 1],
      ],
    );
    const first = r.body.items[0];
    assert.equal(first.message, 'FailedScheduling on evjob-worker-1');
    assert.equal(first.lastTime, at(3).toISOString());
    assert.equal(first.source, 'test');
    assert.equal((await api.call(token, 'GET', `/api/v1/projects/${project}/jobs/nope/events`)).status, 404);
    assert.equal((await api.call(null, 'GET', `/api/v1/projects/${project}/jobs/evjob/events`)).status, 401);
  });
});

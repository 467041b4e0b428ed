// charts/kiln on the real control plane (deploy/local-cluster), its images played from this checkout by
// the node agent (image-map.ts): a server-side dry run of every rendered object; `helm install --wait`
// (migrations Job, operator pair with one Lease holder, API, sweep worker, dashboard, each under its own
// ServiceAccount and RBAC); `helm upgrade` changing a value while the API is polled through its Service's
// ready endpoints (the node agent's Service records) the whole time; `helm uninstall` leaving no pods, Services or Leases (the CRD stays).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { clusterForTests, waitFor } from '@kiln/local-cluster/test-helper';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { chartDir, IMAGE_REGISTRY, releaseImages, repoRoot, sql, TestRelease } from './release.js';

const { images, fromSource } = releaseImages();
const k = clusterForTests({ nodes: [{ name: 'platform-1', cpu: '32', memory: '64Gi' }], images });
const rel = new TestRelease(k, {
  namespace: 'kiln-helm',
  set: ['operator.replicas=2', 'api.replicas=2', 'api.minReadySeconds=3'],
});
const release = rel.name;
let ns = '';
let adminToken = '';
const helmOk = (args: string[]) => rel.helm(args);
const apiEndpoints = async () => rel.endpoints('api', 8080);

// Inside a describe: root-level before() hooks may run alongside the cluster helper's own.
describe('charts/kiln on the local control plane', () => {
  before(
    async () => {
      await rel.prepare();
      ns = rel.ns;
      // The dashboard image ships a production build; the checkout gets the same one (skipped when current).
      // (asynchronously: this process hosts the node agent, which must keep running)
      await promisify(execFile)(process.execPath, [join(repoRoot, 'apps/web/scripts/build.mjs')], {
        maxBuffer: 64 * 1024 * 1024,
      });
      if (fromSource.length)
        console.log(`# no compiled dist/ for ${fromSource.join(', ')}: those images run from source`);
    },
    { timeout: 900_000 },
  );

  after(() => rel.cleanup());

  test('every rendered object passes a server-side dry run on the real apiserver', {
    timeout: 180_000,
  }, async () => {
    const rendered = await helmOk(['template', release, chartDir, '--include-crds', ...rel.values()]);
    const r = await k.kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], rendered);
    assert.equal(r.code, 0, `server-side dry run refused:\n${r.stderr}`);
    for (const kind of [
      'deployment.apps',
      'service',
      'clusterrole.rbac.authorization.k8s.io',
      'lease.coordination.k8s.io',
    ])
      assert.match(r.stdout, new RegExp(`${kind}/\\S+ created \\(server dry run\\)`));
    // The evaluation shape too: bundled Postgres and Redis StatefulSets with their claims and Services.
    const bundled = await helmOk([
      'template',
      release,
      chartDir,
      '-f',
      join(chartDir, 'test/values/bundled.yaml'),
    ]);
    const b = await k.kubectl(['apply', '--dry-run=server', '-n', ns, '-f', '-'], bundled);
    assert.equal(b.code, 0, `server-side dry run refused the evaluation values:\n${b.stderr}`);
    assert.match(b.stdout, /statefulset\.apps\/kiln-postgres created \(server dry run\)/);
  });

  test('helm install --wait, upgrade with the API answering throughout, uninstall leaves nothing', {
    timeout: 1_200_000,
  }, async () => {
    const t0 = Date.now();
    await rel.install();
    const installSeconds = (Date.now() - t0) / 1000;
    console.log(`# helm install --wait: ${installSeconds.toFixed(1)} s`);

    // The admin token was generated at install (no adminToken value given) and stored in the chart's Secret.
    const readToken = () => rel.adminToken();
    adminToken = await readToken();
    assert.ok(adminToken.length >= 40, 'no generated admin token');

    // The migrations Job ran (hook deleted on success) and the API is ready on its database.
    const migrated = await sql(
      rel.databaseUrl,
      async (c) =>
        (await c.query('SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL'))
          .rows[0].n as number,
    );
    assert.ok(migrated > 0, 'no migration recorded by the hook Job');

    // Two operators, one Lease (made by the chart) held by one of them.
    const operators = (await rel.pods('operator')).map((p) => p.metadata!.name!);
    assert.equal(operators.length, 2);
    const coordination = k.kc.makeApiClient(CoordinationV1Api);
    const holder = await waitFor(
      'the operator Lease to be held',
      async () => {
        const lease = await coordination.readNamespacedLease({ name: 'kiln-operator', namespace: ns });
        return lease.spec?.holderIdentity || undefined;
      },
      60_000,
    );
    assert.ok(operators.includes(holder), `Lease held by ${holder}, not one of ${operators.join(', ')}`);

    // Least privilege holds on the real apiserver: what the operator may and may not do.
    const can = async (sa: string, verb: string, resource: string, where: string[] = ['-A']) =>
      (
        await k.kubectl([
          'auth',
          'can-i',
          verb,
          resource,
          `--as=system:serviceaccount:${ns}:${release}-${sa}`,
          ...where,
        ])
      ).stdout.trim();
    assert.equal(await can('operator', 'create', 'pods'), 'yes');
    assert.equal(await can('operator', 'get', 'secrets'), 'no');
    assert.equal(await can('operator', 'update', 'leases', ['-n', ns]), 'yes');
    assert.equal(await can('operator', 'update', 'leases', ['-n', 'default']), 'no');
    assert.equal(await can('api', 'create', 'trainingjobs.kiln.dev'), 'yes');
    assert.equal(await can('api', 'delete', 'pods'), 'no');
    assert.equal(await can('worker', 'list', 'pods'), 'no');
    assert.equal(await can('dashboard', 'list', 'trainingjobs.kiln.dev'), 'no');

    // The API answers through its Service's endpoints, with the admin token from the chart's Secret.
    const endpoints = await waitFor(
      'two ready API endpoints',
      async () => ((await apiEndpoints()).length === 2 ? apiEndpoints() : undefined),
      60_000,
    );
    const projects = await fetch(`http://${endpoints[0]}/api/v1/projects`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    assert.equal(projects.status, 200, await projects.text());

    // A TrainingJob submitted to the installed API runs to Succeeded under the installed operator, and the
    // Trainer's metrics land in the release's Postgres through the API's Service.
    const jobsNs = await k.namespace('kiln-jobs');
    const call = async (token: string, method: string, path: string, body?: unknown) => {
      const r = await fetch(`http://${(await apiEndpoints())[0]}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : undefined };
    };
    const project = await call(adminToken, 'POST', '/api/v1/projects', { name: 'helm', namespace: jobsNs });
    assert.equal(project.status, 201, JSON.stringify(project.body));
    const write = await call(adminToken, 'POST', `/api/v1/projects/${project.body.id}/tokens`, {
      name: 'w',
      scope: 'write',
    });
    const submitted = await call(write.body.token, 'POST', `/api/v1/projects/${project.body.id}/jobs`, {
      metadata: { name: 'reg' },
      spec: {
        image: `${IMAGE_REGISTRY}/kiln-trainer:0.1.0`,
        command: [
          'node',
          '--conditions=kiln-src',
          '--import',
          '@swc-node/register/esm-register',
          'apps/operator/test/fixtures/ddp-regression.ts',
        ],
        workers: 1,
        hyperparameters: { maxEpochs: 1, samples: 1024 },
        resources: { limits: { cpu: '1', memory: '2Gi' } },
      },
    });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const runId = submitted.body.runId as string;
    const finished = await waitFor(
      'the run to finish',
      async () => {
        const run = await call(write.body.token, 'GET', `/api/v1/runs/${runId}`);
        return ['succeeded', 'failed'].includes(run.body?.status) ? run.body : undefined;
      },
      300_000,
    );
    assert.equal(finished.status, 'succeeded', `run ${runId} ended ${finished.status}`);
    // The run's status comes from the Trainer; the TrainingJob's from the operator, once the pod exits.
    await waitFor(
      'the TrainingJob to be Succeeded',
      async () =>
        (await k.kubectl(['get', 'tj', 'reg', '-n', jobsNs, '-o', 'jsonpath={.status.phase}'])).stdout ===
        'Succeeded',
      120_000,
    );
    const points = await sql(
      rel.databaseUrl,
      async (c) =>
        (
          await c.query(
            'SELECT count(*)::int AS n FROM metric_points p JOIN metric_series s ON s.id = p.series_id WHERE s.run_id = $1',
            [runId],
          )
        ).rows[0].n as number,
    );
    assert.ok(points > 0, `no metric points of run ${runId} in the release's database`);
    console.log(`# TrainingJob through the installed API: Succeeded, ${points} metric points stored`);

    // Upgrade: a changed value rolls every API pod; a poller (as kube-proxy, over ready endpoints) never misses.
    const oldApiPods = new Set((await rel.pods('api')).map((p) => p.metadata!.uid));
    let polls = 0;
    const failures: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const eps = await apiEndpoints().catch(() => []);
        const ep = eps[polls % Math.max(eps.length, 1)];
        polls++;
        try {
          if (!ep) throw new Error('no ready endpoint');
          const r = await fetch(`http://${ep}/readyz`, { signal: AbortSignal.timeout(5000) });
          if (r.status !== 200) throw new Error(`${ep} answered ${r.status}`);
        } catch (err) {
          failures.push(`${new Date().toISOString()} ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const t1 = Date.now();
    await helmOk([
      'upgrade',
      release,
      chartDir,
      '--wait',
      '--timeout',
      '10m',
      ...rel.values(['api.extraEnv.KILN_LOG_TAIL_LINES=500']),
    ]);
    await waitFor(
      'old API pods gone',
      async () => (await rel.pods('api')).every((p) => !oldApiPods.has(p.metadata!.uid)),
      120_000,
    );
    polling = false;
    await poller;
    console.log(
      `# helm upgrade --wait: ${((Date.now() - t1) / 1000).toFixed(1)} s, ${polls} API polls, ${failures.length} failed`,
    );
    const apiPods = await rel.pods('api');
    assert.ok(
      apiPods.every((p) =>
        p.spec!.containers[0]!.env!.some((e) => e.name === 'KILN_LOG_TAIL_LINES' && e.value === '500'),
      ),
    );
    assert.deepEqual(failures, [], 'the API did not answer during the upgrade');
    assert.ok(polls > 20, `only ${polls} polls during the upgrade`);
    // The generated admin token survived the upgrade (read back from the release's Secret, not regenerated).
    assert.equal(await readToken(), adminToken);
    const after = await fetch(`http://${(await apiEndpoints())[0]}/api/v1/projects`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    assert.equal(after.status, 200);

    // Uninstall: no pods, Services or Leases of the release remain; the CRD stays (Helm's crds/ convention).
    await helmOk(['uninstall', release, '--wait', '--timeout', '5m']);
    await waitFor('every pod of the release gone', async () => (await rel.pods()).length === 0, 120_000);
    const services = (await k.core.listNamespacedService({ namespace: ns })).items;
    assert.deepEqual(
      services.map((s) => s.metadata!.name),
      [],
    );
    const leases = (await coordination.listNamespacedLease({ namespace: ns })).items;
    assert.deepEqual(
      leases.map((l) => l.metadata!.name),
      [],
    );
    const crd = await k.kubectl(['get', 'crd', 'trainingjobs.kiln.dev', '-o', 'name']);
    assert.equal(crd.stdout.trim(), 'customresourcedefinition.apiextensions.k8s.io/trainingjobs.kiln.dev');
  });
});

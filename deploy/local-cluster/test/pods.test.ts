// Pods run as host processes with the pod's environment; exit codes, phases and restarts show in the
// API; deletion stops the process within the grace period; owner deletion garbage-collects pods.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { clusterForTests, waitFor } from '../src/test-helper.js';

const k = clusterForTests({ nodes: [{ name: 'node-a' }] });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const pidOf = (pod: V1Pod) =>
  Number(pod.status?.containerStatuses?.[0]?.containerID?.replace('kiln://', '') ?? Number.NaN);

async function until(
  ns: string,
  name: string,
  what: string,
  ok: (pod: V1Pod) => boolean,
  timeoutMs?: number,
) {
  return waitFor(
    `${ns}/${name} ${what}`,
    async () => {
      const pod = await k.core.readNamespacedPod({ name, namespace: ns });
      return ok(pod) ? pod : undefined;
    },
    timeoutMs,
  );
}

test('a pod runs with its env (values, downward API, ConfigMap, Secret) and its exit code shows', async () => {
  const ns = await k.namespace('env');
  await k.core.createNamespacedConfigMap({
    namespace: ns,
    body: { metadata: { name: 'cfg' }, data: { lr: '0.001' } },
  });
  await k.core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'creds' }, stringData: { token: 's3cret' } },
  });
  const script = `
    const keys = ['PLAIN', 'EXPANDED', 'POD_NAME', 'POD_NS', 'POD_IP', 'NODE', 'APP', 'LR', 'TOKEN', 'FROM_CM_lr'];
    console.log(JSON.stringify(Object.fromEntries(keys.map((k) => [k, process.env[k]]))));
    process.exit(7);`;
  await k.core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: 'env-check', labels: { app: 'trainer' } },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'main',
            image: 'kiln-test',
            command: ['node', '-e', script],
            envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'FROM_CM_' }],
            env: [
              { name: 'PLAIN', value: 'hello' },
              { name: 'EXPANDED', value: '$(PLAIN)-world' },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'POD_NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
              { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
              { name: 'LR', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'lr' } } },
              { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
            ],
          },
        ],
      },
    },
  });
  const pod = await until(ns, 'env-check', 'Failed', (p) => p.status?.phase === 'Failed');
  const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
  assert.equal(terminated?.exitCode, 7);
  assert.equal(terminated?.reason, 'Error');

  // The same output through the apiserver → agent log endpoint, as `kubectl logs` shows it.
  const logs = await k.kubectl(['logs', '-n', ns, 'env-check']);
  assert.equal(logs.code, 0, logs.stderr);
  const env = JSON.parse(logs.stdout.trim()) as Record<string, string>;
  assert.deepEqual(env, {
    PLAIN: 'hello',
    EXPANDED: 'hello-world',
    POD_NAME: 'env-check',
    POD_NS: ns,
    POD_IP: pod.status?.podIP,
    NODE: 'node-a',
    APP: 'trainer',
    LR: '0.001',
    TOKEN: 's3cret',
    FROM_CM_lr: '0.001',
  });
});

test('a pod that exits 0 Succeeds; OnFailure restarts a failing container', async () => {
  const ns = await k.namespace('phase');
  const pod = (name: string, policy: string, script: string): V1Pod => ({
    metadata: { name },
    spec: {
      restartPolicy: policy,
      containers: [{ name: 'main', image: 'kiln-test', command: ['node', '-e', script] }],
    },
  });
  await k.core.createNamespacedPod({ namespace: ns, body: pod('ok', 'Never', 'console.log("done")') });
  await k.core.createNamespacedPod({
    namespace: ns,
    // Fails on its first two runs (a file in its working directory counts them), then succeeds.
    body: pod(
      'flaky',
      'OnFailure',
      "const fs = require('fs'); const n = fs.existsSync('runs') ? +fs.readFileSync('runs', 'utf8') : 0; fs.writeFileSync('runs', String(n + 1)); process.exit(n < 2 ? 3 : 0)",
    ),
  });
  const ok = await until(ns, 'ok', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
  assert.equal(ok.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
  assert.equal(ok.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
  const flaky = await until(ns, 'flaky', 'Succeeded', (p) => p.status?.phase === 'Succeeded', 30_000);
  const status = flaky.status?.containerStatuses?.[0];
  assert.equal(status?.restartCount, 2);
  assert.equal(status?.lastState?.terminated?.exitCode, 3);
});

test('deleting a pod stops its process: SIGTERM first, SIGKILL when the grace period runs out', async () => {
  const ns = await k.namespace('grace');
  const spec = (name: string, script: string, grace: number): V1Pod => ({
    metadata: { name },
    spec: {
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: grace,
      containers: [{ name: 'main', image: 'kiln-test', command: ['node', '-e', script] }],
    },
  });
  // One ignores SIGTERM (must be killed after its 2 s), one exits on it at once.
  await k.core.createNamespacedPod({
    namespace: ns,
    body: spec(
      'stubborn',
      "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); setInterval(() => {}, 1000)",
      2,
    ),
  });
  await k.core.createNamespacedPod({
    namespace: ns,
    body: spec('polite', "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)", 30),
  });
  const stubborn = pidOf(await until(ns, 'stubborn', 'running', (p) => p.status?.phase === 'Running'));
  const polite = pidOf(await until(ns, 'polite', 'running', (p) => p.status?.phase === 'Running'));
  assert.ok(alive(stubborn) && alive(polite));

  const t0 = Date.now();
  await k.core.deleteNamespacedPod({ name: 'stubborn', namespace: ns });
  await k.core.deleteNamespacedPod({ name: 'polite', namespace: ns });
  await waitFor('polite gone', async () => !alive(polite), 5000);
  const politeMs = Date.now() - t0;
  await waitFor('stubborn gone', async () => !alive(stubborn), 6000);
  const stubbornMs = Date.now() - t0;
  assert.ok(politeMs < 1500, `polite pod took ${politeMs} ms to stop`);
  assert.ok(stubbornMs >= 1900, `stubborn pod was killed before its grace period (${stubbornMs} ms)`);
  assert.ok(stubbornMs < 4000, `stubborn pod outlived its grace period (${stubbornMs} ms)`);
  // Both objects are removed from the API once their processes are gone.
  for (const name of ['stubborn', 'polite']) {
    await waitFor(`${name} deleted`, () =>
      k.core.readNamespacedPod({ name, namespace: ns }).then(
        () => false,
        (err: { code?: number }) => err.code === 404,
      ),
    );
  }
});

test('deleting an owner garbage-collects its pods (real controller-manager GC)', async () => {
  const ns = await k.namespace('gc');
  const owner = await k.core.createNamespacedConfigMap({
    namespace: ns,
    body: { metadata: { name: 'owner' } },
  });
  const ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! }];
  for (const name of ['child-0', 'child-1']) {
    await k.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name, ownerReferences },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            { name: 'main', image: 'kiln-test', command: ['node', '-e', 'setInterval(() => {}, 1000)'] },
          ],
        },
      },
    });
  }
  const pids = [];
  for (const name of ['child-0', 'child-1']) {
    pids.push(pidOf(await until(ns, name, 'running', (p) => p.status?.phase === 'Running')));
  }
  await k.core.deleteNamespacedConfigMap({ name: 'owner', namespace: ns });
  await waitFor(
    'pods collected',
    async () => (await k.core.listNamespacedPod({ namespace: ns })).items.length === 0,
  );
  for (const pid of pids) assert.equal(alive(pid), false, `process ${pid} still running`);
});

test('a PersistentVolumeClaim mounts as a host directory; paths under mountPath are rewritten', async () => {
  const ns = await k.namespace('pvc');
  await k.core.createNamespacedPersistentVolumeClaim({
    namespace: ns,
    body: {
      metadata: { name: 'ckpt' },
      spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } },
    },
  });
  await k.core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: 'writer' },
      spec: {
        restartPolicy: 'Never',
        volumes: [{ name: 'ckpt', persistentVolumeClaim: { claimName: 'ckpt' } }],
        containers: [
          {
            name: 'main',
            image: 'kiln-test',
            command: [
              'node',
              '-e',
              "const fs = require('fs'); const d = process.env.KILN_CHECKPOINT_DIR; fs.mkdirSync(d, { recursive: true }); fs.writeFileSync(d + '/step-1.ckpt', 'w')",
            ],
            env: [{ name: 'KILN_CHECKPOINT_DIR', value: '/checkpoints/run-1' }],
            volumeMounts: [{ name: 'ckpt', mountPath: '/checkpoints' }],
          },
        ],
      },
    },
  });
  await until(ns, 'writer', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
  const pvc = await k.core.readNamespacedPersistentVolumeClaim({ name: 'ckpt', namespace: ns });
  assert.equal(pvc.status?.phase, 'Bound');
  const pv = await k.core.readPersistentVolume({ name: pvc.spec!.volumeName! });
  const dir = pv.spec?.hostPath?.path;
  assert.ok(dir?.endsWith(`/${ns}/ckpt`), `PV path ${dir}`);
  assert.equal(readFileSync(`${dir}/run-1/step-1.ckpt`, 'utf8'), 'w');
});

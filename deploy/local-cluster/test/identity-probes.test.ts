// What the chart's pods need from the node agent, on the real control plane: a pod acts as its
// ServiceAccount (a TokenRequest-bound token and a kubeconfig the agent writes; RBAC applies), a pod that
// does not mount a token gets no identity, and a readiness probe (httpGet) decides when a pod is Ready
// and when a Service name resolves to it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { ensureBinaries } from '../src/binaries.js';
import { clusterForTests, waitFor } from '../src/test-helper.js';

const k = clusterForTests({ nodes: [{ name: 'node-id' }] });

async function logOf(ns: string, name: string): Promise<string> {
  await waitFor(
    `${ns}/${name} finished`,
    async () => {
      const p = await k.core.readNamespacedPod({ name, namespace: ns });
      return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
    },
    60_000,
  );
  return (await k.kubectl(['logs', '-n', ns, name])).stdout.trim();
}

test('a pod acts as its ServiceAccount, under that account RBAC', { timeout: 120_000 }, async () => {
  const ns = await k.namespace('identity');
  const kubectl = `${ensureBinaries()}/kubectl`;
  await k.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader' } } });
  await k.kubectl(['create', 'role', 'pod-reader', '-n', ns, '--verb=list', '--resource=pods']);
  await k.kubectl([
    'create',
    'rolebinding',
    'reader',
    '-n',
    ns,
    '--role=pod-reader',
    `--serviceaccount=${ns}:reader`,
  ]);
  const pod = (name: string, serviceAccountName: string, automount?: boolean): V1Pod => ({
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      serviceAccountName,
      ...(automount === undefined ? {} : { automountServiceAccountToken: automount }),
      containers: [
        {
          name: 'c',
          image: 'none',
          command: [
            'sh',
            '-c',
            `${kubectl} auth whoami -o jsonpath='{.status.userInfo.username}'; echo; ${kubectl} get pods -o name >/dev/null 2>&1 && echo can-list || echo cannot-list; ${kubectl} get secrets >/dev/null 2>&1 && echo can-read-secrets || echo cannot-read-secrets`,
          ],
        },
      ],
    },
  });
  await k.core.createNamespacedPod({ namespace: ns, body: pod('as-reader', 'reader') });
  await k.core.createNamespacedPod({ namespace: ns, body: pod('as-default', 'default') });
  await k.core.createNamespacedPod({ namespace: ns, body: pod('no-token', 'reader', false) });
  assert.deepEqual((await logOf(ns, 'as-reader')).split('\n'), [
    `system:serviceaccount:${ns}:reader`,
    'can-list',
    'cannot-read-secrets',
  ]);
  assert.deepEqual((await logOf(ns, 'as-default')).split('\n').slice(1), [
    'cannot-list',
    'cannot-read-secrets',
  ]);
  // No token mounted: no kubeconfig from the agent, so kubectl finds no credentials for this cluster.
  assert.doesNotMatch(await logOf(ns, 'no-token'), /system:serviceaccount/);
});

test('a readiness probe gates Ready and the Service name', { timeout: 120_000 }, async () => {
  const ns = await k.namespace('probes');
  // Listens only after 3 s; the probe's path answers 200 once listening.
  const script = `setTimeout(() => require('node:http').createServer((q, s) => s.writeHead(q.url === '/ready' ? 200 : 404).end()).listen(8080), 3000)`;
  await k.core.createNamespacedService({
    namespace: ns,
    body: {
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ port: 8080, targetPort: 8080 }] },
    },
  });
  await k.core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: 'web-0', labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'none',
            command: ['node', '-e', script],
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1 },
          },
        ],
      },
    },
  });
  const ready = (p: V1Pod) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const running = await waitFor('web-0 running', async () => {
    const p = await k.core.readNamespacedPod({ name: 'web-0', namespace: ns });
    return p.status?.containerStatuses?.[0]?.state?.running ? p : undefined;
  });
  assert.equal(ready(running), false, 'Ready before the probe passed');
  assert.equal(running.status?.containerStatuses?.[0]?.ready, false);
  const hosts = () => readFileSync(k.agent!.hostsFile, 'utf8');
  assert.doesNotMatch(hosts(), /web\.probes-\w+\.svc\.cluster\.local/);
  const readyPod = await waitFor('web-0 Ready', async () => {
    const p = await k.core.readNamespacedPod({ name: 'web-0', namespace: ns });
    return ready(p) ? p : undefined;
  });
  const readyAt = Date.parse(
    String(readyPod.status!.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime),
  );
  const startedAt = Date.parse(String(readyPod.status!.containerStatuses![0]!.state!.running!.startedAt));
  assert.ok(
    readyAt - startedAt >= 2000,
    `Ready ${readyAt - startedAt} ms after start, before the server listened`,
  );
  await waitFor('the Service name to resolve', async () =>
    /web\.probes-\w+\.svc\.cluster\.local/.test(hosts()),
  );
});

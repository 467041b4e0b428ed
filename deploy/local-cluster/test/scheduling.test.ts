// The real kube-scheduler places pods by the GPU capacity our agent registers, and capacity changes at
// runtime: adding a node lets a pending pod run, removing one kills its pods like a preemption.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { clusterForTests, waitFor } from '../src/test-helper.js';

const k = clusterForTests({
  nodes: [
    { name: 'cpu-only', cpu: '16', memory: '64Gi' },
    { name: 'gpu-one', gpus: 1, labels: { 'kiln.dev/accelerator': 'nvidia' } },
    { name: 'gpu-two', gpus: 2, labels: { 'kiln.dev/accelerator': 'nvidia' } },
  ],
});

const gpuPod = (name: string, gpus: number, script = 'setInterval(() => {}, 1000)'): V1Pod => ({
  metadata: { name },
  spec: {
    restartPolicy: 'Never',
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: 'main',
        image: 'kiln-test',
        command: ['node', '-e', script],
        resources: { limits: { 'nvidia.com/gpu': String(gpus) } },
      },
    ],
  },
});

test('nodes register with their capacity and labels and become Ready', async () => {
  const nodes = await waitFor('three Ready nodes', async () => {
    const list = (await k.core.listNode()).items;
    const ready = list.filter((n) =>
      n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    return ready.length === 3 ? list : undefined;
  });
  const two = nodes.find((n) => n.metadata?.name === 'gpu-two')!;
  assert.equal(two.status?.allocatable?.['nvidia.com/gpu'], '2');
  assert.equal(two.metadata?.labels?.['kiln.dev/accelerator'], 'nvidia');
  assert.equal(nodes.find((n) => n.metadata?.name === 'cpu-only')!.status?.capacity?.cpu, '16');
});

test('a pod asking for 2 GPUs lands on the node with 2 free; one asking for more stays Pending', async () => {
  const ns = await k.namespace('gpu');
  await k.core.createNamespacedPod({ namespace: ns, body: gpuPod('two-gpus', 2) });
  const placed = await waitFor('two-gpus running', async () => {
    const pod = await k.core.readNamespacedPod({ name: 'two-gpus', namespace: ns });
    return pod.status?.phase === 'Running' ? pod : undefined;
  });
  assert.equal(placed.spec?.nodeName, 'gpu-two');
  assert.match(placed.status?.podIP ?? '', /^127\.\d+\.\d+\.\d+$/);

  // gpu-two is now full: another 2-GPU pod has nowhere to go.
  await k.core.createNamespacedPod({ namespace: ns, body: gpuPod('two-more', 2) });
  await k.core.createNamespacedPod({ namespace: ns, body: gpuPod('too-many', 4) });
  for (const name of ['two-more', 'too-many']) {
    const cond = await waitFor(`${name} unschedulable`, async () => {
      const pod = await k.core.readNamespacedPod({ name, namespace: ns });
      return pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    });
    assert.equal(cond.reason, 'Unschedulable');
    assert.match(cond.message ?? '', /Insufficient nvidia\.com\/gpu/);
    const pod = await k.core.readNamespacedPod({ name, namespace: ns });
    assert.equal(pod.status?.phase, 'Pending');
    assert.equal(pod.spec?.nodeName, undefined);
  }

  // New capacity: a 6-GPU node appears and both waiting pods (2 + 4 GPUs) are scheduled onto it.
  await k.agent!.addNode({ name: 'gpu-six', gpus: 6 });
  const moved = await waitFor('too-many running', async () => {
    const pod = await k.core.readNamespacedPod({ name: 'too-many', namespace: ns });
    return pod.status?.phase === 'Running' ? pod : undefined;
  });
  assert.equal(moved.spec?.nodeName, 'gpu-six');
  const other = await waitFor('two-more running', async () => {
    const pod = await k.core.readNamespacedPod({ name: 'two-more', namespace: ns });
    return pod.status?.phase === 'Running' ? pod : undefined;
  });
  assert.equal(other.spec?.nodeName, 'gpu-six');
});

test('removing a node kills its pods like a preemption and leaves them Failed', async () => {
  const ns = await k.namespace('preempt');
  await k.agent!.addNode({ name: 'doomed', gpus: 8, labels: { pool: 'doomed' } });
  const body = gpuPod(
    'victim',
    8,
    "process.on('SIGTERM', () => process.exit(143)); setInterval(() => {}, 1000)",
  );
  body.spec!.nodeSelector = { pool: 'doomed' };
  await k.core.createNamespacedPod({ namespace: ns, body });
  const running = await waitFor('victim running', async () => {
    const pod = await k.core.readNamespacedPod({ name: 'victim', namespace: ns });
    return pod.status?.containerStatuses?.[0]?.state?.running ? pod : undefined;
  });
  const pid = Number(running.status!.containerStatuses![0]!.containerID!.replace('kiln://', ''));
  assert.ok(pid > 0);

  await k.agent!.removeNode('doomed', { graceSeconds: 5 });
  assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the process is gone once removeNode returns');
  const pod = await waitFor('victim failed', async () => {
    const p = await k.core.readNamespacedPod({ name: 'victim', namespace: ns });
    return p.status?.phase === 'Failed' ? p : undefined;
  });
  assert.equal(pod.status?.reason, 'Terminated');
  assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 143);
  assert.ok(pod.status?.conditions?.some((c) => c.type === 'DisruptionTarget' && c.status === 'True'));
  await assert.rejects(k.core.readNode({ name: 'doomed' }), (err: { code?: number }) => err.code === 404);
});

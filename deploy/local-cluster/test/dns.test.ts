// Two pods of one headless Service reach each other over TCP by their DNS names, each on its own
// loopback address and the same port — what DDP ranks do through MASTER_ADDR.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { clusterForTests, waitFor } from '../src/test-helper.js';

const k = clusterForTests({ nodes: [{ name: 'node-a' }, { name: 'node-b' }] });

// Rank 0 serves on port 29500 (listening on "all interfaces", which the agent narrows to the pod's own
// address); rank 1 listens on the same port too, then connects to rank 0 by name and both trade a line.
const worker = `
const net = require('node:net');
const rank = Number(process.env.RANK);
const server = net.createServer((c) => c.end('pong from rank ' + rank + ' at ' + c.localAddress + '\\n'));
server.listen(29500, () => {
  if (rank === 0) return;
  const ask = (host, done) => {
    const c = net.connect(29500, host);
    let reply = '';
    c.on('data', (d) => (reply += d));
    c.on('end', () => done(reply.trim()));
    c.on('error', (e) => { console.error(host, e.message); setTimeout(() => ask(host, done), 200); });
  };
  ask(process.env.MASTER_ADDR, (a) => {
    console.log(process.env.MASTER_ADDR + ' -> ' + a);
    ask('ring', (b) => { console.log('ring -> ' + b); process.exit(0); });
  });
});`;

const pod = (ns: string, rank: number): V1Pod => ({
  metadata: { name: `ring-worker-${rank}`, labels: { job: 'ring', rank: String(rank) } },
  spec: {
    hostname: `ring-worker-${rank}`,
    subdomain: 'ring',
    restartPolicy: 'Never',
    terminationGracePeriodSeconds: 1,
    // One worker per node, as the operator spreads them.
    nodeName: rank === 0 ? 'node-a' : 'node-b',
    containers: [
      {
        name: 'main',
        image: 'kiln-test',
        command: ['node', '-e', worker],
        env: [
          { name: 'RANK', value: String(rank) },
          { name: 'MASTER_ADDR', value: `ring-worker-0.ring.${ns}.svc` },
        ],
      },
    ],
  },
});

test('two pods of a headless Service reach each other by DNS name over TCP', async () => {
  const ns = await k.namespace('dns');
  await k.core.createNamespacedService({
    namespace: ns,
    body: {
      metadata: { name: 'ring' },
      spec: {
        clusterIP: 'None',
        selector: { job: 'ring', rank: '0' },
        ports: [{ name: 'store', port: 29500 }],
      },
    },
  });
  await k.core.createNamespacedPod({ namespace: ns, body: pod(ns, 0) });
  await k.core.createNamespacedPod({ namespace: ns, body: pod(ns, 1) });

  const done = await waitFor('rank 1 finished', async () => {
    const p = await k.core.readNamespacedPod({ name: 'ring-worker-1', namespace: ns });
    return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p : undefined;
  }).catch(async (err) => {
    // What each rank printed says which name did not resolve.
    const logs = await Promise.all([0, 1].map((r) => k.kubectl(['logs', '-n', ns, `ring-worker-${r}`])));
    throw new Error(`${(err as Error).message}\n${logs.map((l) => l.stdout + l.stderr).join('\n')}`);
  });
  const logs = await k.kubectl(['logs', '-n', ns, 'ring-worker-1']);
  assert.equal(done.status?.phase, 'Succeeded', logs.stdout + logs.stderr);
  const rank0 = await k.core.readNamespacedPod({ name: 'ring-worker-0', namespace: ns });
  const ip0 = rank0.status?.podIP;
  assert.notEqual(ip0, done.status?.podIP, 'each pod has its own address');
  // By pod hostname.subdomain, and by the Service name through the pod's search path.
  assert.match(
    logs.stdout,
    new RegExp(`ring-worker-0\\.ring\\.${ns}\\.svc -> pong from rank 0 at ${ip0!.replaceAll('.', '\\.')}`),
  );
  assert.match(logs.stdout, new RegExp(`ring -> pong from rank 0 at ${ip0!.replaceAll('.', '\\.')}`));
});

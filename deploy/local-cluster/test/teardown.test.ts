// No stray processes: stop() ends every component and pod process tree and removes the state directory;
// and if the owning process dies without stopping (a crashed test), the kernel's parent-death signal
// takes etcd, the control plane and every pod process tree with it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startCluster } from '../src/cluster.js';
import { waitFor } from '../src/test-helper.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** pids of processes whose argv is exactly `sleep <seconds>` (the pods below fork two of them) */
function sleeping(seconds: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8') === `sleep\0${seconds}\0`) pids.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

test('stop() ends every process, pod process trees included, and removes the state dir', {
  timeout: 180_000,
}, async () => {
  const marker = `4242.${process.pid}1`;
  const cluster = await startCluster({ nodes: [{ name: 'n1' }] });
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    await waitFor('default ServiceAccount', () =>
      core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' }).then(() => true),
    );
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'forker' },
        spec: {
          containers: [
            { name: 'main', image: 'x', command: ['sh', '-c', `sleep ${marker} & sleep ${marker}`] },
          ],
        },
      },
    });
    await waitFor('both pod processes', async () => sleeping(marker).length === 2);
  } finally {
    await cluster.stop();
  }
  for (const [name, pid] of Object.entries(cluster.pids))
    assert.equal(alive(pid), false, `${name} still runs`);
  assert.deepEqual(sleeping(marker), [], 'pod processes still run');
  assert.equal(existsSync(cluster.dir), false, 'state dir removed');
});

test('a killed owner takes the control plane and pod process trees with it', {
  timeout: 180_000,
}, async () => {
  const marker = `4242.${process.pid}2`;
  const fixture = new URL('./fixtures/crash-owner.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, [...process.execArgv, fixture, marker], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  let dir: string | undefined;
  try {
    const info = await waitFor(
      'the owner process to start its cluster and pod',
      async () =>
        out.includes('\n') ? (JSON.parse(out.split('\n')[0]!) as { dir: string; pids: number[] }) : undefined,
      120_000,
    );
    dir = info.dir;
    await waitFor('both pod processes', async () => sleeping(marker).length === 2);
    child.kill('SIGKILL');
    await waitFor('control plane gone', async () => info.pids.every((pid) => !alive(pid)), 10_000);
    await waitFor('pod process tree gone', async () => sleeping(marker).length === 0, 10_000);
  } finally {
    child.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true }); // nothing ran to remove it
  }
});

// Prints the local cluster's figures: start time, idle CPU and memory of each component, and how long
// four pods take from creation to Running. Never asserts on time.
//   node --conditions=kiln-src --import @swc-node/register/esm-register deploy/local-cluster/scripts/measure.ts
import { readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startCluster } from '../src/cluster.js';

const ticksPerSecond = 100; // USER_HZ on Linux
const idleSeconds = Number(process.env.IDLE_SECONDS ?? 20);

function cpuTicks(pid: number): number {
  // Fields after the command name (which may hold spaces): utime is the 14th field overall, stime 15th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

const t0 = performance.now();
const cluster = await startCluster({ nodes: [{ name: 'node-1', gpus: 4 }] });
const startMs = performance.now() - t0;
try {
  const pids = { ...cluster.pids, 'node agent (this process)': process.pid };
  await new Promise((r) => setTimeout(r, 5000)); // let start-up work settle
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuTicks(pid)]));
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  console.log(
    `cluster start (certificates → all components ready → node registered): ${(startMs / 1000).toFixed(2)} s`,
  );
  console.log(`  ready after (ms): ${JSON.stringify(cluster.timings)}`);
  console.log(`idle over ${idleSeconds} s (CPU as % of one core, resident memory):`);
  let cpu = 0;
  let mem = 0;
  for (const [name, pid] of Object.entries(pids)) {
    const pct = ((cpuTicks(pid) - before[name]!) / ticksPerSecond / idleSeconds) * 100;
    const rss = rssMiB(pid);
    cpu += pct;
    mem += rss;
    console.log(`  ${name.padEnd(28)} ${pct.toFixed(1).padStart(5)} %  ${rss.toFixed(0).padStart(5)} MiB`);
  }
  console.log(`  ${'total'.padEnd(28)} ${cpu.toFixed(1).padStart(5)} %  ${mem.toFixed(0).padStart(5)} MiB`);

  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  while (true) {
    try {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const t1 = performance.now();
  await Promise.all(
    [0, 1, 2, 3].map((i) =>
      core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name: `w-${i}` },
          spec: {
            containers: [
              {
                name: 'main',
                image: 'bench',
                command: ['node', '-e', 'setInterval(() => {}, 1000)'],
                resources: { limits: { 'nvidia.com/gpu': '1' } },
              },
            ],
          },
        },
      }),
    ),
  );
  while (
    (await core.listNamespacedPod({ namespace: 'default' })).items.some((p) => p.status?.phase !== 'Running')
  ) {
    await new Promise((r) => setTimeout(r, 20));
  }
  console.log(`4 pods created → all Running: ${((performance.now() - t1) / 1000).toFixed(2)} s`);
} finally {
  await cluster.stop();
}

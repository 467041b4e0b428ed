// The operator killed (SIGKILL) at random points while jobs are admitted, started and finished, 24
// times over: after each restart there is never more than one gang per job, no pod without a live
// owner, no restart counted that did not happen, and every job converges to Succeeded.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { createJob, getJob, operatorCluster, readJson, trainingJob, waitFor } from './cluster-helpers.js';

const c = operatorCluster([{ name: 'node-a', cpu: '32', memory: '64Gi' }]);
const TRIALS = Number(process.env.KILN_CRASH_TRIALS ?? 24);

async function checkInvariants(ns: string, jobs: string[]) {
  const pods = (await c.k.core.listNamespacedPod({ namespace: ns })).items;
  const perJob = new Map<string, number>();
  for (const pod of pods) {
    const owner = pod.metadata?.ownerReferences?.find((o) => o.kind === 'TrainingJob');
    assert.ok(owner, `${pod.metadata?.name} has no TrainingJob owner`);
    assert.ok(jobs.includes(owner.name), `${pod.metadata?.name} is an orphan`);
    perJob.set(owner.name, (perJob.get(owner.name) ?? 0) + 1);
  }
  for (const [job, n] of perJob) assert.ok(n <= 2, `${job} has ${n} pods for 2 workers`);
}

test(`killing the operator at random points (${TRIALS} times) leaves no duplicates or orphans and every job converges`, {
  timeout: 300_000,
}, async () => {
  const ns = await c.namespace('crash');
  const jobs: string[] = [];
  let op: (ChildProcess & { leading: Promise<void> }) | undefined;
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const snapshot = async () => {
    const list = (await c.custom().listNamespacedCustomObject({
      group: 'kiln.dev',
      version: 'v1alpha1',
      plural: 'trainingjobs',
      namespace: ns,
    })) as { items: { metadata: { name: string; resourceVersion: string }; status?: { phase?: string } }[] };
    return new Map(
      list.items.map((j) => [j.metadata.name, `${j.metadata.resourceVersion}/${j.status?.phase ?? ''}`]),
    );
  };
  let busyTrials = 0;
  for (let i = 0; i < TRIALS; i++) {
    const before = await snapshot();
    op = c.spawnOperator();
    const name = `c${i}`;
    jobs.push(name);
    await createJob(c, trainingJob(ns, name, { env: { FAKE_STEPS: '8', FAKE_STEP_MS: '60' } }));
    // Killed anywhere from the moment it leads to mid-way through several jobs' lives.
    await op.leading;
    await new Promise((r) => setTimeout(r, random() * 2500));
    // Did this operator act at all (any job's status moved) before it was killed?
    const after = await snapshot();
    const changed = [...after].some(([job, v]) =>
      before.has(job) ? before.get(job) !== v : !v.endsWith('/'),
    );
    op.kill('SIGKILL');
    await new Promise((r) => op!.once('exit', r));
    if (changed) busyTrials++;
    await checkInvariants(ns, jobs);
  }
  // Most kills must land while the operator was acting, not before it even started.
  assert.ok(busyTrials >= TRIALS / 2, `the operator acted in only ${busyTrials} of ${TRIALS} trials`);
  op = c.spawnOperator();
  try {
    for (const name of jobs) {
      await waitFor(
        `${name} Succeeded`,
        async () => (await getJob(c, ns, name)).status?.phase === 'Succeeded',
        60_000,
      );
    }
    await checkInvariants(ns, jobs);
    for (const name of jobs) {
      const job = await getJob(c, ns, name);
      assert.equal(job.status?.restarts ?? 0, 0, `${name} counted a restart that never happened`);
      assert.deepEqual(readJson(join(c.checkpointDir(ns, name), 'final.json')), { step: 8 });
    }
  } finally {
    const exited = new Promise((r) => op!.once('exit', r));
    op.kill('SIGTERM');
    await exited;
  }
});

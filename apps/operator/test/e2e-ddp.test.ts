// End to end with the real Trainer: a 2-worker TrainingJob runs Kiln's regression example with DDP (a
// TCP ring between the two worker pods, found through the headless Service's DNS names), reaches
// Succeeded with progress in status and in `kubectl get tj`; a worker killed mid-training restarts the
// whole gang, which resumes from the checkpoint and ends on the same step as the uninterrupted run.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import {
  createJob,
  jobPods,
  operatorCluster,
  REPO_IMAGE,
  readJson,
  trainingJob,
  waitPhase,
} from './cluster-helpers.js';

const c = operatorCluster([
  { name: 'node-a', cpu: '8', memory: '32Gi' },
  { name: 'node-b', cpu: '8', memory: '32Gi' },
]);
before(() => c.startOperator().then(() => {}), { timeout: 240_000 });

const command = [
  'node',
  '--conditions=kiln-src',
  '--import',
  '@swc-node/register/esm-register',
  'apps/operator/test/fixtures/ddp-regression.ts',
];
const ddpJob = (ns: string, name: string, env: Record<string, string> = {}) => {
  const job = trainingJob(ns, name, { image: REPO_IMAGE, command, workers: 2, env });
  (job.spec.resources as { limits: Record<string, string> }).limits = { cpu: '2', memory: '2Gi' };
  return job;
};

let uninterrupted = 0;

test('kubectl apply → a 2-worker DDP job trains, reports progress and Succeeds', {
  timeout: 300_000,
}, async () => {
  const ns = await c.namespace('e2e');
  await createJob(c, ddpJob(ns, 'reg'));
  const running = await waitPhase(c, ns, 'reg', (j) => (j.status?.progress?.step ?? 0) > 0, 180_000);
  assert.equal(running.status?.phase, 'Running');
  assert.ok((running.status?.progress?.totalSteps ?? 0) > 0);
  assert.ok(Object.keys(running.status?.progress?.metrics ?? {}).length > 0, 'latest metrics in status');
  const pods = await jobPods(c, ns, 'reg');
  assert.equal(new Set(pods.map((p) => p.spec?.nodeName)).size, 2, 'one worker per node');
  const done = await waitPhase(c, ns, 'reg', 'Succeeded', 240_000);
  const final = readJson(join(c.checkpointDir(ns, 'reg'), 'final.json')) as { step: number };
  uninterrupted = final.step;
  assert.equal(done.status?.progress?.step, final.step);
  assert.equal(done.status?.progress?.percent, 100);
  assert.ok(done.status?.lastCheckpoint?.path.endsWith('last.ckpt'));
  const get = await c.k.kubectl(['get', 'tj', '-n', ns]);
  assert.match(get.stdout, /NAME\s+PHASE\s+WORKERS\s+PROGRESS\s+ETA\s+RESTARTS\s+AGE/);
  assert.match(get.stdout, /reg\s+Succeeded\s+\S+\s+100\s+0\s+/);
});

test('a worker killed mid-training restarts the whole gang, which resumes to the same final step', {
  timeout: 300_000,
}, async () => {
  assert.ok(uninterrupted > 30, 'needs the uninterrupted run first');
  const ns = await c.namespace('e2e-kill');
  await createJob(c, ddpJob(ns, 'reg', { FAKE_KILL_AT_STEP: '30' }));
  const restarted = await waitPhase(c, ns, 'reg', (j) => (j.status?.restarts ?? 0) === 1, 180_000);
  assert.match(
    restarted.status?.conditions?.find((x) => x.type === 'Restarting')?.message ?? '',
    /reg-worker-1 exited with code 137/,
  );
  const done = await waitPhase(c, ns, 'reg', 'Succeeded', 240_000);
  assert.equal(done.status?.restarts, 1);
  const final = readJson(join(c.checkpointDir(ns, 'reg'), 'final.json')) as {
    step: number;
    resumed: boolean;
  };
  assert.deepEqual(final, { step: uninterrupted, resumed: true });
});

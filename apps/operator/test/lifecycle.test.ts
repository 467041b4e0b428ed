// A TrainingJob's life against the real control plane and node agent: success with progress, a killed
// worker restarting the whole gang from its checkpoint, permanent failures, the restart limit with
// cleanPodPolicy None, suspend/resume, the deadline, TTL and deletion cascade.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import {
  createJob,
  events,
  getJob,
  jobPods,
  operatorCluster,
  pidOf,
  readJson,
  trainingJob,
  waitFor,
  waitPhase,
} from './cluster-helpers.js';

const c = operatorCluster([{ name: 'node-a', cpu: '16', memory: '64Gi' }]);
before(() => c.startOperator().then(() => {}), { timeout: 240_000 });

test('a 2-worker job runs to Succeeded with progress, times and kubectl get columns', async () => {
  const ns = await c.namespace('ok');
  await createJob(
    c,
    trainingJob(ns, 'mnist', { env: { FAKE_STEPS: '30', FAKE_STEP_MS: '100', FAKE_LINGER_MS: '400' } }),
  );
  const running = await waitPhase(
    c,
    ns,
    'mnist',
    (j) => j.status?.phase === 'Running' && (j.status.progress?.step ?? 0) > 0,
  );
  assert.equal(running.status?.workers?.running, 2);
  assert.ok(running.status?.startTime);
  const pods = await jobPods(c, ns, 'mnist');
  assert.deepEqual(
    pods.map((p) => p.metadata!.name),
    ['mnist-worker-0', 'mnist-worker-1'],
  );
  const svc = await c.k.core.readNamespacedService({ name: 'mnist', namespace: ns });
  assert.equal(svc.spec?.clusterIP, 'None');

  const done = await waitPhase(c, ns, 'mnist', 'Succeeded');
  assert.ok(done.status?.completionTime);
  assert.equal(done.status?.restarts ?? 0, 0);
  assert.equal(done.status?.progress?.percent, 100);
  assert.equal(done.status?.progress?.step, 30);
  assert.equal(done.status?.lastCheckpoint?.step, 30);
  assert.equal(done.status?.observedGeneration, done.metadata.generation);
  const conditions = Object.fromEntries((done.status?.conditions ?? []).map((x) => [x.type, x.status]));
  assert.deepEqual(conditions, { Starting: 'False', Running: 'False', Succeeded: 'True' });
  assert.deepEqual(readJson(join(c.checkpointDir(ns, 'mnist'), 'final.json')), { step: 30 });

  const table = await c.k.kubectl([
    'get',
    'tj',
    '-n',
    ns,
    '--no-headers',
    '-o',
    'custom-columns=P:.status.phase,W:.status.workers.succeeded,PR:.status.progress.percent,E:.status.progress.etaSeconds,R:.status.restarts',
  ]);
  assert.equal(table.stdout.trim().split(/\s+/).join(' '), 'Succeeded 2 100 0 <none>');
  const get = await c.k.kubectl(['get', 'tj', '-n', ns]);
  assert.match(get.stdout, /NAME\s+PHASE\s+WORKERS\s+PROGRESS\s+ETA\s+RESTARTS\s+AGE/);
  assert.match(get.stdout, /mnist\s+Succeeded\s+\S+\s+100\s+0\s+/);
  // cleanPodPolicy Running (the default) leaves finished pods for their logs.
  assert.equal((await jobPods(c, ns, 'mnist')).length, 2);
  await waitFor('transition events', async () => {
    const reasons = await events(c, ns, 'mnist');
    return ['GangAdmitted', 'AllWorkersRunning', 'WorkersSucceeded'].every((r) => reasons.includes(r));
  });
});

test('killing one worker restarts the whole gang, which resumes from the checkpoint (restarts = 1)', async () => {
  const ns = await c.namespace('kill');
  await createJob(
    c,
    trainingJob(ns, 'k', { env: { FAKE_STEPS: '60', FAKE_STEP_MS: '80', FAKE_CKPT_EVERY: '5' } }),
  );
  await waitPhase(
    c,
    ns,
    'k',
    (j) => j.status?.phase === 'Running' && (j.status.lastCheckpoint?.step ?? 0) >= 10,
  );
  const before = await jobPods(c, ns, 'k');
  const victim = before.find((p) => p.metadata!.name === 'k-worker-1')!;
  process.kill(pidOf(victim), 'SIGKILL');

  const restarted = await waitPhase(
    c,
    ns,
    'k',
    (j) => (j.status?.restarts ?? 0) >= 1 && j.status?.phase === 'Running',
  );
  const after = await jobPods(c, ns, 'k');
  assert.equal(after.length, 2);
  for (const p of after) {
    assert.ok(!before.some((b) => b.metadata!.uid === p.metadata!.uid), `${p.metadata!.name} is a new pod`);
    const env = Object.fromEntries(p.spec!.containers[0]!.env!.map((e) => [e.name, e.value]));
    assert.equal(env.KILN_RESUME, 'auto');
  }
  const cond = restarted.status?.conditions?.find((x) => x.type === 'Restarting');
  assert.match(cond?.message ?? '', /k-worker-1 exited with code 137/);

  const done = await waitPhase(c, ns, 'k', 'Succeeded', 40_000);
  assert.equal(done.status?.restarts, 1);
  assert.deepEqual(readJson(join(c.checkpointDir(ns, 'k'), 'final.json')), { step: 60 });
  const log = readFileSync(join(c.checkpointDir(ns, 'k'), 'rank-0.log'), 'utf8');
  const resumedFrom = Number(/resume=true from=(\d+)/.exec(log)?.[1]);
  assert.ok(resumedFrom >= 10, `second launch resumed from step ${resumedFrom}`);
});

test('a non-retryable exit code fails the job at once, with the reason and no restart', async () => {
  const ns = await c.namespace('perm');
  await createJob(c, trainingJob(ns, 'p', { env: { FAKE_FAIL: '1:3:2', FAKE_STEPS: '50' } }));
  const failed = await waitPhase(c, ns, 'p', 'Failed');
  assert.equal(failed.status?.restarts ?? 0, 0);
  const cond = failed.status?.conditions?.find((x) => x.type === 'Failed');
  assert.equal(cond?.reason, 'WorkerFailed');
  assert.match(
    cond?.message ?? '',
    /p-worker-1 exited with code 2 \(Error\), not one of retryOnExitCodes \[137, 143\]/,
  );
  assert.ok(failed.status?.completionTime);
});

test('the restart limit fails the job, and cleanPodPolicy None keeps every pod', async () => {
  const ns = await c.namespace('limit');
  await createJob(
    c,
    trainingJob(ns, 'l', {
      env: { FAKE_FAIL: '1:2:143', FAKE_FAIL_ALWAYS: '1', FAKE_STEPS: '50' },
      runPolicy: { maxRestarts: 2, cleanPodPolicy: 'None' },
    }),
  );
  const failed = await waitPhase(c, ns, 'l', 'Failed', 40_000);
  assert.equal(failed.status?.restarts, 2);
  const cond = failed.status?.conditions?.find((x) => x.type === 'Failed');
  assert.equal(cond?.reason, 'RestartLimitExceeded');
  await new Promise((r) => setTimeout(r, 1500));
  const pods = await jobPods(c, ns, 'l');
  assert.deepEqual(
    pods.map((p) => p.metadata!.name),
    ['l-worker-0', 'l-worker-1'],
  );
  assert.ok(pods.every((p) => !p.metadata!.deletionTimestamp));
});

test('cleanPodPolicy All deletes the pods of a failed job', async () => {
  const ns = await c.namespace('all');
  await createJob(
    c,
    trainingJob(ns, 'a', {
      env: { FAKE_FAIL: '0:2:1', FAKE_STEPS: '50' },
      runPolicy: { cleanPodPolicy: 'All' },
    }),
  );
  await waitPhase(c, ns, 'a', 'Failed');
  await waitFor('pods deleted', async () => (await jobPods(c, ns, 'a')).length === 0);
});

test('suspend stops the workers and keeps the state; resume relaunches from the checkpoint', async () => {
  const ns = await c.namespace('susp');
  await createJob(c, trainingJob(ns, 's', { env: { FAKE_STEPS: '80', FAKE_STEP_MS: '80' } }));
  await waitPhase(c, ns, 's', (j) => (j.status?.lastCheckpoint?.step ?? 0) >= 5);
  await c.k.kubectl([
    'patch',
    'tj',
    's',
    '-n',
    ns,
    '--type=merge',
    '-p',
    '{"spec":{"runPolicy":{"suspend":true}}}',
  ]);
  const suspended = await waitPhase(c, ns, 's', 'Suspended');
  await waitFor('pods gone', async () => (await jobPods(c, ns, 's')).length === 0);
  assert.ok((suspended.status?.lastCheckpoint?.step ?? 0) >= 5);
  await c.k.kubectl([
    'patch',
    'tj',
    's',
    '-n',
    ns,
    '--type=merge',
    '-p',
    '{"spec":{"runPolicy":{"suspend":false}}}',
  ]);
  await waitPhase(c, ns, 's', 'Running');
  const env = Object.fromEntries(
    (await jobPods(c, ns, 's'))[0]!.spec!.containers[0]!.env!.map((e) => [e.name, e.value]),
  );
  assert.equal(env.KILN_RESUME, 'auto');
  const done = await waitPhase(c, ns, 's', 'Succeeded', 40_000);
  assert.equal(done.status?.restarts ?? 0, 0);
  assert.deepEqual(readJson(join(c.checkpointDir(ns, 's'), 'final.json')), { step: 80 });
});

test('activeDeadlineSeconds fails a job that runs too long and cleans its running pods', async () => {
  const ns = await c.namespace('dl');
  await createJob(
    c,
    trainingJob(ns, 'd', { env: { FAKE_STEPS: '100000' }, runPolicy: { activeDeadlineSeconds: 3 } }),
  );
  const failed = await waitPhase(c, ns, 'd', 'Failed', 20_000);
  assert.equal(failed.status?.conditions?.find((x) => x.type === 'Failed')?.reason, 'DeadlineExceeded');
  const elapsed = Date.parse(failed.status!.completionTime!) - Date.parse(failed.status!.startTime!);
  assert.ok(elapsed >= 3000 && elapsed < 6000, `failed ${elapsed} ms after start`);
  await waitFor('running pods deleted', async () => (await jobPods(c, ns, 'd')).length === 0);
});

test('ttlSecondsAfterFinished deletes the finished job, and its children go with it', async () => {
  const ns = await c.namespace('ttl');
  await createJob(
    c,
    trainingJob(ns, 't', { workers: 1, env: { FAKE_STEPS: '3' }, runPolicy: { ttlSecondsAfterFinished: 2 } }),
  );
  const done = await waitPhase(c, ns, 't', 'Succeeded');
  const finishedAt = Date.now();
  await waitFor(
    'job deleted',
    () =>
      getJob(c, ns, 't').then(
        () => false,
        () => true,
      ),
    15_000,
  );
  assert.ok(Date.now() - finishedAt >= 1000, 'not deleted before its TTL');
  assert.ok(done.status?.completionTime);
  await waitFor('pods garbage-collected', async () => (await jobPods(c, ns, 't')).length === 0, 30_000);
});

test('deleting a running job cascades to its pods and Service', async () => {
  const ns = await c.namespace('del');
  await createJob(c, trainingJob(ns, 'x', { env: { FAKE_STEPS: '100000' } }));
  await waitPhase(c, ns, 'x', 'Running');
  const pids = (await jobPods(c, ns, 'x')).map(pidOf);
  await c.k.kubectl(['delete', 'tj', 'x', '-n', ns, '--wait=false']);
  await waitFor('pods gone', async () => (await jobPods(c, ns, 'x')).length === 0, 30_000);
  await waitFor(
    'service gone',
    () =>
      c.k.core.readNamespacedService({ name: 'x', namespace: ns }).then(
        () => false,
        () => true,
      ),
    30_000,
  );
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await waitFor('worker processes gone', async () => pids.every((p) => !alive(p)));
});

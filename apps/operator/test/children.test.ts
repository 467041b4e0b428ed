import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrainingJob } from '@kiln/spec';
import { buildService, buildWorkerPod, defaultChildOptions } from '../src/children.js';
import { enterPhase, trueSince } from '../src/conditions.js';
import { parseSettings } from '../src/config.js';
import { EtaEstimator, progressFromReport } from '../src/progress.js';

const job = {
  apiVersion: 'kiln.dev/v1alpha1',
  kind: 'TrainingJob',
  metadata: { name: 'mnist', namespace: 'team-a', uid: 'u1', generation: 2 },
  spec: {
    image: 'kiln:1',
    command: ['kiln', 'fit'],
    args: ['--max-epochs', '1'],
    env: [{ name: 'EXTRA', value: '1' }],
    workers: 4,
    procsPerWorker: 2,
    resources: { limits: { 'nvidia.com/gpu': 2 } },
    hyperparameters: { lr: 0.1 },
    checkpoint: { volumeClaim: 'ckpt' },
    runPolicy: {},
    scheduling: {
      nodeSelector: { pool: 'gpu' },
      tolerations: [{ key: 'g', operator: 'Exists' }],
      priorityClassName: 'high',
    },
  },
  status: { runId: 'run-7' },
} as unknown as TrainingJob;

test('worker pods carry the whole environment contract, identity and placement', () => {
  const pod = buildWorkerPod(job, { index: 3, workers: 4, restart: 1, resume: true }, defaultChildOptions);
  const env = Object.fromEntries(pod.spec!.containers[0]!.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
  assert.equal(pod.metadata!.name, 'mnist-worker-3');
  assert.equal(pod.spec!.hostname, 'mnist-worker-3');
  assert.equal(pod.spec!.subdomain, 'mnist');
  assert.equal(pod.spec!.restartPolicy, 'Never');
  assert.deepEqual(pod.metadata!.ownerReferences, [
    {
      apiVersion: 'kiln.dev/v1alpha1',
      kind: 'TrainingJob',
      name: 'mnist',
      uid: 'u1',
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.equal(env.MASTER_ADDR, 'mnist-worker-0.mnist.team-a.svc');
  assert.equal(env.MASTER_PORT, '29500');
  assert.equal(env.WORLD_SIZE, '8');
  assert.equal(env.RANK, '6');
  assert.equal(env.NODE_RANK, '3');
  assert.equal(env.LOCAL_WORLD_SIZE, '2');
  assert.equal(env.KILN_RUN_ID, 'run-7');
  assert.equal(env.KILN_RESUME, 'auto');
  assert.equal(env.KILN_HPARAMS, '{"lr":0.1}');
  assert.equal(env.KILN_CHECKPOINT_DIR, '/kiln/checkpoints/team-a/mnist');
  assert.equal(env.EXTRA, '1');
  assert.deepEqual(env.KILN_TRACKING_TOKEN, {
    secretKeyRef: { name: 'mnist-tracking', key: 'KILN_TRACKING_TOKEN', optional: true },
  });
  assert.deepEqual(pod.spec!.volumes, [
    { name: 'checkpoints', persistentVolumeClaim: { claimName: 'ckpt' } },
  ]);
  assert.equal(pod.spec!.containers[0]!.volumeMounts![0]!.mountPath, '/kiln/checkpoints');
  assert.deepEqual(pod.spec!.nodeSelector, { pool: 'gpu' });
  assert.equal(pod.spec!.priorityClassName, 'high');
  assert.equal(pod.metadata!.labels!['kiln.dev/replica-index'], '3');
  const first = buildWorkerPod(job, { index: 0, workers: 4, restart: 0, resume: false }, defaultChildOptions);
  assert.ok(!first.spec!.containers[0]!.env!.some((e) => e.name === 'KILN_RESUME'));
});

test('the tracking URL goes only to jobs with a run (those created with kubectl have no token)', () => {
  const options = { ...defaultChildOptions, trackingUrl: 'http://api:8080' };
  const envOf = (j: TrainingJob) =>
    Object.fromEntries(
      buildWorkerPod(
        j,
        { index: 0, workers: 1, restart: 0, resume: false },
        options,
      ).spec!.containers[0]!.env!.map((e) => [e.name, e.value]),
    );
  assert.equal(envOf(job).KILN_TRACKING_URL, 'http://api:8080');
  const applied = { ...job, status: undefined, metadata: { ...job.metadata, labels: {} } } as TrainingJob;
  assert.equal(envOf(applied).KILN_TRACKING_URL, undefined);
  assert.equal(envOf(applied).KILN_RUN_ID, 'u1');
  const labelled = { ...applied, metadata: { ...job.metadata, labels: { 'kiln.dev/run-id': 'run-9' } } };
  assert.equal(envOf(labelled as TrainingJob).KILN_TRACKING_URL, 'http://api:8080');
});

test('the Service is headless and publishes workers before they are ready', () => {
  const svc = buildService(job, defaultChildOptions);
  assert.equal(svc.spec!.clusterIP, 'None');
  assert.equal(svc.spec!.publishNotReadyAddresses, true);
  assert.deepEqual(svc.spec!.selector, { 'kiln.dev/job-name': 'mnist' });
});

test('settings: flags override env, and bad values name the setting', () => {
  const o = parseSettings(['--concurrency=8', '--restart-backoff-seconds=0.5'], {
    KILN_OPERATOR_CONCURRENCY: '2',
    KILN_OPERATOR_LEASE_NAME: 'x',
  });
  assert.equal(o.concurrency, 8);
  assert.equal(o.restartBackoffMs, 500);
  assert.equal(o.leaseName, 'x');
  assert.throws(() => parseSettings(['--concurrency=0'], {}), /concurrency: expected a number ≥ 1, got "0"/);
  assert.throws(() => parseSettings(['--nope=1'], {}), /unknown argument "--nope=1"/);
  assert.throws(
    () => parseSettings([], { KILN_OPERATOR_HEALTH_PORT: 'abc' }),
    /health-port: expected a number/,
  );
});

test('phase conditions: entering a phase sets its condition True and the previous one False', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const c1 = enterPhase(undefined, 'Starting', 'GangAdmitted', 'ok', t0, 1);
  const c2 = enterPhase(c1, 'Running', 'AllWorkersRunning', 'ok', new Date('2026-01-01T00:00:05Z'), 1);
  assert.deepEqual(
    c2.map((c) => [c.type, c.status]),
    [
      ['Starting', 'False'],
      ['Running', 'True'],
    ],
  );
  assert.equal(trueSince(c2, 'Running', Date.parse('2026-01-01T00:00:07Z')), 2000);
  assert.equal(trueSince(c2, 'Starting', Date.parse('2026-01-01T00:00:07Z')), undefined);
});

test('progress from rank 0 is sanitized and gets percent and ETA derived', () => {
  const r = progressFromReport({
    step: 50,
    totalSteps: 200,
    metrics: { 'train/loss': 0.5, bad: 'x' },
    checkpoint: { step: 40, path: '/c', time: '2026-01-01T00:00:00.123Z' },
    epoch: -1,
  });
  assert.deepEqual(r?.progress, { step: 50, totalSteps: 200, percent: 25, metrics: { 'train/loss': 0.5 } });
  assert.deepEqual(r?.checkpoint, { step: 40, path: '/c', time: '2026-01-01T00:00:00Z' });
  assert.equal(progressFromReport('nope'), undefined);
  const eta = new EtaEstimator();
  eta.apply('k', { step: 50, totalSteps: 200 }, 0);
  const p = { step: 60, totalSteps: 200 };
  eta.apply('k', p, 1000);
  assert.equal((p as { etaSeconds?: number }).etaSeconds, 14);
});

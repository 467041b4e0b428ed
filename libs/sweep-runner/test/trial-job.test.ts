// A trial's TrainingJob: its name (a second create is a 409, never a second job) and its labels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { API_GROUP_VERSION, LABELS, SWEEP_KIND, type Sweep, validateSweep } from '@kiln/spec';
import { buildTrialJob, type SweepRow, type TrialRow, trialJobName } from '../src/index.js';

test('trial job names: <sweep>-<number>, long sweep names cut with a hash so two never collide', () => {
  assert.equal(trialJobName('lr-search', 7), 'lr-search-7');
  const a = trialJobName(`${'a'.repeat(60)}x`, 123);
  const b = trialJobName(`${'a'.repeat(60)}y`, 123);
  assert.notEqual(a, b);
  for (const n of [a, b]) {
    assert.ok(n.length <= 63 - '-worker-999'.length, n);
    assert.match(n, /^[a-z][a-z0-9-]*-123$/);
  }
});

test('a trial job: the template with the sampled values over its hyperparameters, labelled with sweep, trial and run', () => {
  const v = validateSweep({
    apiVersion: API_GROUP_VERSION,
    kind: SWEEP_KIND,
    metadata: { name: 'lr', labels: { team: 'vision' } },
    spec: {
      objective: { metric: 'val/loss', goal: 'minimize' },
      algorithm: { type: 'random', seed: 1 },
      parameters: { lr: { type: 'loguniform', min: 1e-4, max: 1e-1 } },
      maxTrials: 4,
      parallelism: 2,
      trialTemplate: {
        image: 'kiln-test',
        command: ['node', 'train.mjs'],
        hyperparameters: { lr: 1, epochs: 3 },
      },
    },
  });
  assert.ok(v.ok, JSON.stringify(!v.ok && v.errors));
  const spec = v.value as Sweep;
  const sweep: SweepRow = {
    id: 'a1b2',
    projectId: 'p',
    name: 'lr',
    namespace: 'team-a',
    spec,
    executor: 'cluster',
    maxTrials: 4,
    parallelism: 2,
    status: 'running',
  };
  const trial: TrialRow = {
    id: 't',
    number: 3,
    params: { lr: 0.01 },
    state: 'running',
    value: null,
    intermediate: [],
    reason: null,
    jobName: trialJobName('lr', 3),
    jobUid: null,
    runId: 'r-3',
  };
  const job = buildTrialJob(sweep, trial, { suspend: true });
  assert.equal(job.metadata.name, 'lr-3');
  assert.equal(job.metadata.namespace, 'team-a');
  assert.deepEqual(job.metadata.labels, {
    team: 'vision',
    [LABELS.sweepId]: 'a1b2',
    [LABELS.trial]: '3',
    [LABELS.runId]: 'r-3',
  });
  assert.deepEqual(job.spec.hyperparameters, { lr: 0.01, epochs: 3 });
  assert.equal((job.spec.runPolicy as { suspend?: boolean }).suspend, true);
});

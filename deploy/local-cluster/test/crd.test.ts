// The real apiserver serves our CRD: `kubectl apply -f crds/` then TrainingJobs are accepted or rejected
// with the CRD's own validation messages (OpenAPI bounds, required fields, CEL rules).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { clusterForTests, waitFor } from '../src/test-helper.js';

const repoCrds = new URL('../../../crds/', import.meta.url).pathname;
const crdPath = existsSync(`${repoCrds}trainingjob.yaml`)
  ? repoCrds
  : new URL('./fixtures/trainingjob-crd.yaml', import.meta.url).pathname;

const k = clusterForTests();

const job = (ns: string, name: string, spec: Record<string, unknown>) =>
  JSON.stringify({
    apiVersion: 'kiln.dev/v1alpha1',
    kind: 'TrainingJob',
    metadata: { name, namespace: ns },
    spec,
  });

const valid = {
  image: 'registry.example/kiln-trainer:0.1',
  command: ['kiln', 'fit', 'examples/mnist/train.ts'],
  workers: 4,
  hyperparameters: { lr: 0.001 },
};

test('kubectl apply -f crds/ establishes the TrainingJob CRD', async () => {
  const applied = await k.kubectl(['apply', '-f', crdPath]);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /trainingjobs\.kiln\.dev/);
  const waited = await k.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=30s',
    'crd/trainingjobs.kiln.dev',
  ]);
  assert.equal(waited.code, 0, waited.stderr);
});

test('a valid TrainingJob is accepted and listed', async () => {
  const ns = await k.namespace('crd');
  const res = await k.kubectl(['apply', '-f', '-'], job(ns, 'mnist', valid));
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /trainingjob\.kiln\.dev\/mnist created/);
  const got = await waitFor('the job in kubectl get', async () => {
    const r = await k.kubectl(['get', 'trainingjobs', '-n', ns, '-o', 'json']);
    const items = (JSON.parse(r.stdout) as { items: { spec: { workers: number } }[] }).items;
    return items.length === 1 ? items[0] : undefined;
  });
  assert.equal(got.spec.workers, 4);
});

test('invalid TrainingJobs are rejected by the apiserver with the CRD validation messages', async () => {
  const ns = await k.namespace('crd-bad');
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      'below-minimum',
      { ...valid, workers: 0 },
      /spec\.workers: Invalid value: 0: spec\.workers in body should be greater than or equal to 1/,
    ],
    [
      'wrong-type',
      { ...valid, workers: 'four' },
      /spec\.workers: Invalid value: "string": spec\.workers in body must be of type integer/,
    ],
    ['missing-image', { command: valid.command }, /spec\.image: Required value/],
    [
      'cel-rule',
      { ...valid, workers: 10, elastic: { minWorkers: 2, maxWorkers: 8 } },
      /spec\.workers: Invalid value: .*workers must be between elastic\.minWorkers and elastic\.maxWorkers/,
    ],
  ];
  for (const [name, spec, message] of cases) {
    const res = await k.kubectl(['apply', '-f', '-'], job(ns, name, spec));
    assert.notEqual(res.code, 0, `${name} should be rejected`);
    assert.match(res.stderr, /is invalid/, name);
    assert.match(res.stderr, message, `${name}: ${res.stderr}`);
  }
  const list = await k.kubectl(['get', 'trainingjobs', '-n', ns, '-o', 'name']);
  assert.equal(list.stdout.trim(), '', 'no invalid job was stored');
});

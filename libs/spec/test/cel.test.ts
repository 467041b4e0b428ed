// The CRD's CEL rules and the code's cross-field rules must agree. This evaluates every
// x-kubernetes-validations rule of the generated CRD (with @marcbachmann/cel-js, a CEL implementation
// in JavaScript) on the defaulted job, as the apiserver would, and compares with validateTrainingJob.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trainingJobCrd, validateTrainingJob } from '@kiln/spec';
import { parse } from '@marcbachmann/cel-js';
import { exampleJob, type Loose, minimalJob } from './fixtures.js';

const root: Loose = (trainingJobCrd() as Loose).spec.versions[0].schema.openAPIV3Schema;

/** Kubernetes hands CEL integer fields as int64: turn whole numbers into BigInt. */
function toCel(value: unknown): unknown {
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (Array.isArray(value)) return value.map(toCel);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  }
  return value;
}

/** Every CEL rule that fails on `value`, as `path` (the node, plus the rule's fieldPath) and message. */
function celViolations(schema: Loose, value: unknown, path = ''): { path: string; message: string }[] {
  if (value === undefined || value === null) return [];
  const out: { path: string; message: string }[] = [];
  for (const v of schema['x-kubernetes-validations'] ?? []) {
    const ok = parse(v.rule)({ self: toCel(value) });
    if (ok !== true) out.push({ path: `${path}${v.fieldPath ?? ''}`.replace(/^\./, ''), message: v.message });
  }
  if (schema.properties && typeof value === 'object') {
    for (const [key, child] of Object.entries(schema.properties)) {
      out.push(...celViolations(child, (value as Loose)[key], path ? `${path}.${key}` : key));
    }
  }
  if (schema.items && Array.isArray(value)) {
    value.forEach((item, i) => {
      out.push(...celViolations(schema.items, item, `${path}[${i}]`));
    });
  }
  return out;
}

/** Jobs that break exactly one cross-field rule, by the field the code blames. */
const ruleCases: [string, (j: Loose) => void][] = [
  [
    'minWorkers above maxWorkers',
    (j) => Object.assign(j.spec, { elastic: { minWorkers: 8, maxWorkers: 2 }, workers: 2 }),
  ],
  ['workers below elastic bounds', (j) => Object.assign(j.spec, { workers: 1 })],
  ['workers above elastic bounds', (j) => Object.assign(j.spec, { workers: 9 })],
  ['keepBest without monitor', (j) => delete j.spec.checkpoint.monitor],
  ['reserved env name', (j) => Object.assign(j.spec, { env: [{ name: 'WORLD_SIZE', value: '8' }] })],
  [
    'value and valueFrom',
    (j) =>
      Object.assign(j.spec, {
        env: [{ name: 'A', value: '1', valueFrom: { fieldRef: { fieldPath: 'x' } } }],
      }),
  ],
  [
    'two env sources',
    (j) =>
      Object.assign(j.spec, {
        env: [
          { name: 'A', valueFrom: { fieldRef: { fieldPath: 'x' }, secretKeyRef: { name: 's', key: 'k' } } },
        ],
      }),
  ],
  ['no env source', (j) => Object.assign(j.spec, { env: [{ name: 'A', valueFrom: {} }] })],
  [
    'Exists toleration with a value',
    (j) => Object.assign(j.spec.scheduling, { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] }),
  ],
  [
    'empty toleration key without Exists',
    (j) => Object.assign(j.spec.scheduling, { tolerations: [{ value: 'v' }] }),
  ],
];

describe('CEL rules in the CRD agree with validateTrainingJob', () => {
  it('pass on the ARCHITECTURE.md example and on a minimal job', () => {
    for (const job of [exampleJob(), minimalJob()]) {
      const result = validateTrainingJob(job);
      assert.ok(result.ok);
      assert.deepEqual(celViolations(root, result.value), []);
    }
  });

  for (const [name, mutate] of ruleCases) {
    it(`both reject: ${name}`, () => {
      const job = exampleJob();
      mutate(job);
      const result = validateTrainingJob(job);
      assert.ok(!result.ok, 'code accepted it');
      const codePaths = result.errors.map((e) => e.path);
      // The example sets every field a rule reads, so no apiserver defaulting is needed first.
      const cel = celViolations(root, job).map((v) => v.path);
      assert.deepEqual(cel, codePaths, `CEL blames ${cel}, code blames ${codePaths}`);
    });
  }

  it('both reject a name too long for the last worker pod, and accept one that just fits', () => {
    for (const [workers, length, ok] of [
      [4, 54, true], // worker-3: 54 + 8 + 1 = 63
      [4, 55, false],
      [10, 54, true],
      [11, 54, false], // worker-10: 54 + 8 + 2 = 64
    ] as const) {
      const job = minimalJob();
      job.spec.workers = workers;
      job.metadata.name = 'a'.repeat(length);
      const result = validateTrainingJob(job);
      assert.equal(result.ok, ok, `code, ${workers} workers, name of ${length}`);
      const value = result.ok ? result.value : job;
      if (!result.ok) Object.assign(value.spec, { workers });
      const cel = celViolations(root, value).map((v) => v.path);
      assert.deepEqual(cel, ok ? [] : ['metadata.name'], `CEL, ${workers} workers, name of ${length}`);
      if (!result.ok)
        assert.deepEqual(
          result.errors.map((e) => e.path),
          ['metadata.name'],
        );
    }
  });

  it('the CRD pattern for metadata.name and the code agree on DNS-1035 labels', () => {
    const pattern = new RegExp(root.properties.metadata.properties.name.pattern);
    for (const name of ['mnist', 'a', 'a-1', 'Mnist', 'mnist_ddp', '1mnist', 'mnist-', 'a.b', '-a']) {
      const job = minimalJob();
      job.metadata.name = name;
      assert.equal(validateTrainingJob(job).ok, pattern.test(name), name);
    }
  });
});

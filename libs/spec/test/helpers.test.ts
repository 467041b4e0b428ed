import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  API_GROUP,
  API_GROUP_VERSION,
  API_VERSION,
  assertTrainingJob,
  ENV,
  isQuantity,
  jobDnsName,
  LABEL_JOB_NAME,
  LABEL_REPLICA_INDEX,
  masterAddr,
  maxJobNameLength,
  parseQuantity,
  RESERVED_ENV_NAMES,
  SpecValidationError,
  TRAININGJOB_PLURAL,
  trainingJobJsonSchema,
  workerName,
} from '@kiln/spec';
import { exampleJob, minimalJob } from './fixtures.js';

describe('names of what the operator creates', () => {
  const job = exampleJob();

  it('names workers and the headless Service', () => {
    assert.equal(workerName(job, 0), 'mnist-ddp-worker-0');
    assert.equal(workerName('x', 12), 'x-worker-12');
    assert.equal(jobDnsName(job), 'mnist-ddp.team-a.svc');
    assert.equal(jobDnsName(job, 3), 'mnist-ddp-worker-3.mnist-ddp.team-a.svc');
    assert.equal(masterAddr(job), 'mnist-ddp-worker-0.mnist-ddp.team-a.svc');
    assert.equal(jobDnsName({ name: 'j' }), 'j.default.svc');
  });

  it('refuses a negative or fractional worker index', () => {
    assert.throws(() => workerName(job, -1), /worker index must be an integer ≥ 0/);
    assert.throws(() => workerName(job, 1.5), RangeError);
  });

  it('leaves room in the name for the longest worker suffix', () => {
    assert.equal(maxJobNameLength(1), 63 - '-worker-0'.length);
    assert.equal(maxJobNameLength(10), 63 - '-worker-9'.length);
    assert.equal(maxJobNameLength(11), 63 - '-worker-10'.length);
    assert.equal(maxJobNameLength(1024), 63 - '-worker-1023'.length);
  });

  it('exports the API coordinates, labels and pod environment names', () => {
    assert.equal(API_GROUP_VERSION, `${API_GROUP}/${API_VERSION}`);
    assert.equal(API_GROUP_VERSION, 'kiln.dev/v1alpha1');
    assert.equal(TRAININGJOB_PLURAL, 'trainingjobs');
    assert.equal(LABEL_JOB_NAME, 'kiln.dev/job-name');
    assert.equal(LABEL_REPLICA_INDEX, 'kiln.dev/replica-index');
    assert.deepEqual(
      [ENV.masterAddr, ENV.worldSize, ENV.localWorldSize, ENV.hparams, ENV.trackingToken],
      ['MASTER_ADDR', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE', 'KILN_HPARAMS', 'KILN_TRACKING_TOKEN'],
    );
    assert.equal(RESERVED_ENV_NAMES.length, 15);
  });
});

describe('quantities', () => {
  it('parses the suffixes Kubernetes accepts', () => {
    assert.equal(parseQuantity('500m'), 0.5);
    assert.equal(parseQuantity('4'), 4);
    assert.equal(parseQuantity(2), 2);
    assert.equal(parseQuantity('16Gi'), 16 * 2 ** 30);
    assert.equal(parseQuantity('1.5Gi'), 1.5 * 2 ** 30);
    assert.equal(parseQuantity('2k'), 2000);
    assert.equal(parseQuantity('1e3'), 1000);
    assert.equal(parseQuantity('.5'), 0.5);
  });

  it('rejects what Kubernetes rejects', () => {
    for (const bad of ['', '-1', '16GB', '1.5.0', 'Gi', '16 Gi', '1e', 1.5, -2]) {
      assert.equal(isQuantity(bad), false, String(bad));
      assert.throws(() => parseQuantity(bad as never), /not a Kubernetes quantity/);
    }
  });
});

describe('assertTrainingJob', () => {
  it('returns the defaulted job', () => {
    assert.equal(assertTrainingJob(minimalJob()).spec.workers, 1);
  });

  it('throws every error in one message', () => {
    const job = minimalJob();
    job.spec.workers = 0;
    job.spec.image = '';
    assert.throws(
      () => assertTrainingJob(job),
      (e: unknown) =>
        e instanceof SpecValidationError &&
        e.errors.length === 2 &&
        /spec\.image: /.test(e.message) &&
        /spec\.workers: must be an integer from 1 to 1024 \(got 0\)/.test(e.message),
    );
  });
});

describe('trainingJobJsonSchema', () => {
  const schema = trainingJobJsonSchema() as Record<string, never>;

  it('is plain JSON without Kiln-only keys', () => {
    const text = JSON.stringify(schema);
    assert.deepEqual(JSON.parse(text), schema);
    assert.ok(!text.includes('"expected"'));
  });

  it('does not require what has a default', () => {
    const spec = (schema as never as { properties: { spec: { required: string[] } } }).properties.spec;
    assert.deepEqual(spec.required, ['image', 'command']);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type SpecErrorCode, validateTrainingJob } from '@kiln/spec';
import { exampleJob, type Loose, minimalJob } from './fixtures.js';

interface BadCase {
  name: string;
  mutate: (job: Loose) => void;
  path: string;
  code?: SpecErrorCode;
  /** A fragment the message must contain: what was expected, in words. */
  says?: string | RegExp;
}

const env =
  (...vars: Loose[]) =>
  (job: Loose) => {
    job.spec.env = vars;
  };

// Each case breaks one thing in the ARCHITECTURE.md example and names the one field that must be blamed.
const badCases: BadCase[] = [
  // envelope
  {
    name: 'wrong apiVersion',
    mutate: (j) => {
      j.apiVersion = 'kiln.dev/v1';
    },
    path: 'apiVersion',
    code: 'enum',
    says: 'kiln.dev/v1alpha1',
  },
  {
    name: 'wrong kind',
    mutate: (j) => {
      j.kind = 'Job';
    },
    path: 'kind',
    says: 'TrainingJob',
  },
  {
    name: 'missing metadata',
    mutate: (j) => {
      delete j.metadata;
    },
    path: 'metadata',
    code: 'required',
  },
  {
    name: 'missing name',
    mutate: (j) => {
      delete j.metadata.name;
    },
    path: 'metadata.name',
    code: 'required',
  },
  {
    name: 'uppercase name',
    mutate: (j) => {
      j.metadata.name = 'MNIST';
    },
    path: 'metadata.name',
    code: 'pattern',
    says: 'DNS-1035',
  },
  {
    name: 'name starting with a digit',
    mutate: (j) => {
      j.metadata.name = '1mnist';
    },
    path: 'metadata.name',
    code: 'pattern',
  },
  {
    name: 'name ending with a dash',
    mutate: (j) => {
      j.metadata.name = 'mnist-';
    },
    path: 'metadata.name',
    code: 'pattern',
  },
  {
    name: 'name longer than a DNS label',
    mutate: (j) => {
      j.metadata.name = 'a'.repeat(64);
    },
    path: 'metadata.name',
    code: 'length',
  },
  {
    name: 'name too long for its worker pods',
    mutate: (j) => {
      j.metadata.name = 'a'.repeat(55);
    },
    path: 'metadata.name',
    code: 'rule',
    says: '-worker-7',
  },
  {
    name: 'name too long once elastic grows to 100 workers',
    mutate: (j) => {
      j.metadata.name = 'a'.repeat(54);
      j.spec.elastic.maxWorkers = 100;
    },
    path: 'metadata.name',
    code: 'rule',
    says: 'at most 53',
  },
  {
    name: 'bad namespace',
    mutate: (j) => {
      j.metadata.namespace = 'Team_A';
    },
    path: 'metadata.namespace',
    code: 'pattern',
  },
  {
    name: 'unknown metadata field',
    mutate: (j) => {
      j.metadata.nmae = 'x';
    },
    path: 'metadata.nmae',
    code: 'unknown-field',
  },
  {
    name: 'label value not a string',
    mutate: (j) => {
      j.metadata.labels = { team: 7 };
    },
    path: 'metadata.labels.team',
    code: 'type',
  },
  {
    name: 'missing spec',
    mutate: (j) => {
      delete j.spec;
    },
    path: 'spec',
    code: 'required',
  },
  {
    name: 'spec is a list',
    mutate: (j) => {
      j.spec = [];
    },
    path: 'spec',
    code: 'type',
    says: 'an object',
  },
  // image, command, args
  {
    name: 'missing image',
    mutate: (j) => {
      delete j.spec.image;
    },
    path: 'spec.image',
    code: 'required',
  },
  {
    name: 'empty image',
    mutate: (j) => {
      j.spec.image = '';
    },
    path: 'spec.image',
    code: 'length',
  },
  {
    name: 'image is a number',
    mutate: (j) => {
      j.spec.image = 42;
    },
    path: 'spec.image',
    code: 'type',
  },
  {
    name: 'missing command',
    mutate: (j) => {
      delete j.spec.command;
    },
    path: 'spec.command',
    code: 'required',
  },
  {
    name: 'empty command',
    mutate: (j) => {
      j.spec.command = [];
    },
    path: 'spec.command',
    code: 'length',
    says: 'got 0',
  },
  {
    name: 'command is a string',
    mutate: (j) => {
      j.spec.command = 'kiln fit train.ts';
    },
    path: 'spec.command',
    code: 'type',
    says: 'a list',
  },
  {
    name: 'command item not a string',
    mutate: (j) => {
      j.spec.command = ['kiln', 3];
    },
    path: 'spec.command[1]',
    code: 'type',
  },
  {
    name: 'args item is null',
    mutate: (j) => {
      j.spec.args = ['--max-epochs', null];
    },
    path: 'spec.args[1]',
    code: 'type',
  },
  // workers
  {
    name: 'negative workers',
    mutate: (j) => {
      j.spec.workers = -4;
      delete j.spec.elastic;
    },
    path: 'spec.workers',
    code: 'range',
    says: 'an integer from 1 to 1024',
  },
  {
    name: 'zero workers',
    mutate: (j) => {
      j.spec.workers = 0;
      delete j.spec.elastic;
    },
    path: 'spec.workers',
    code: 'range',
  },
  {
    name: 'fractional workers',
    mutate: (j) => {
      j.spec.workers = 2.5;
    },
    path: 'spec.workers',
    code: 'type',
    says: 'integer',
  },
  {
    name: 'workers as a string',
    mutate: (j) => {
      j.spec.workers = '4';
    },
    path: 'spec.workers',
    code: 'type',
  },
  {
    name: 'too many workers',
    mutate: (j) => {
      j.spec.workers = 5000;
      delete j.spec.elastic;
    },
    path: 'spec.workers',
    code: 'range',
  },
  {
    name: 'zero procsPerWorker',
    mutate: (j) => {
      j.spec.procsPerWorker = 0;
    },
    path: 'spec.procsPerWorker',
    code: 'range',
  },
  // env
  {
    name: 'env is an object',
    mutate: (j) => {
      j.spec.env = { A: '1' };
    },
    path: 'spec.env',
    code: 'type',
  },
  { name: 'env var without a name', mutate: env({ value: 'x' }), path: 'spec.env[0].name', code: 'required' },
  {
    name: 'env name with a space',
    mutate: env({ name: 'A', value: '1' }, { name: 'B', value: '2' }, { name: 'BAD NAME', value: '3' }),
    path: 'spec.env[2].name',
    code: 'pattern',
  },
  {
    name: 'env value not a string',
    mutate: env({ name: 'A', value: 1 }),
    path: 'spec.env[0].value',
    code: 'type',
  },
  {
    name: 'env overrides RANK',
    mutate: env({ name: 'RANK', value: '0' }),
    path: 'spec.env[0].name',
    code: 'rule',
    says: 'set by Kiln',
  },
  {
    name: 'env name repeated',
    mutate: env({ name: 'A', value: '1' }, { name: 'A', value: '2' }),
    path: 'spec.env[1].name',
    code: 'duplicate',
  },
  {
    name: 'env with value and valueFrom',
    mutate: env({ name: 'A', value: '1', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }),
    path: 'spec.env[0].valueFrom',
    code: 'rule',
  },
  {
    name: 'env valueFrom with two sources',
    mutate: env({
      name: 'A',
      valueFrom: { secretKeyRef: { name: 's', key: 'k' }, configMapKeyRef: { name: 'c', key: 'k' } },
    }),
    path: 'spec.env[0].valueFrom',
    code: 'rule',
    says: 'exactly one',
  },
  {
    name: 'env secretKeyRef without key',
    mutate: env({ name: 'A', valueFrom: { secretKeyRef: { name: 's' } } }),
    path: 'spec.env[0].valueFrom.secretKeyRef.key',
    code: 'required',
  },
  {
    name: 'unknown env field',
    mutate: env({ name: 'A', valu: '1' }),
    path: 'spec.env[0].valu',
    code: 'unknown-field',
  },
  // resources
  {
    name: 'negative memory',
    mutate: (j) => {
      j.spec.resources.limits.memory = '-16Gi';
    },
    path: 'spec.resources.limits.memory',
    says: 'Kubernetes quantity',
  },
  {
    name: 'memory with a bad unit',
    mutate: (j) => {
      j.spec.resources.limits.memory = '16GB';
    },
    path: 'spec.resources.limits.memory',
  },
  {
    name: 'fractional cpu as a number',
    mutate: (j) => {
      j.spec.resources.limits.cpu = 0.5;
    },
    path: 'spec.resources.limits.cpu',
    says: '500m',
  },
  {
    name: 'gpu as a boolean',
    mutate: (j) => {
      j.spec.resources.limits['nvidia.com/gpu'] = true;
    },
    path: 'spec.resources.limits["nvidia.com/gpu"]',
  },
  {
    name: 'negative integer request',
    mutate: (j) => {
      j.spec.resources.requests = { cpu: -1 };
    },
    path: 'spec.resources.requests.cpu',
  },
  {
    name: 'unknown resources field',
    mutate: (j) => {
      j.spec.resources.limit = { cpu: '1' };
    },
    path: 'spec.resources.limit',
    code: 'unknown-field',
    says: 'limits',
  },
  // hyperparameters
  {
    name: 'hyperparameters as a list',
    mutate: (j) => {
      j.spec.hyperparameters = [0.001];
    },
    path: 'spec.hyperparameters',
    code: 'type',
  },
  // checkpoint
  {
    name: 'checkpoint without volumeClaim',
    mutate: (j) => {
      delete j.spec.checkpoint.volumeClaim;
    },
    path: 'spec.checkpoint.volumeClaim',
    code: 'required',
  },
  {
    name: 'checkpoint volumeClaim with capitals',
    mutate: (j) => {
      j.spec.checkpoint.volumeClaim = 'Kiln_Checkpoints';
    },
    path: 'spec.checkpoint.volumeClaim',
    code: 'pattern',
  },
  {
    name: 'checkpoint everyNSteps zero',
    mutate: (j) => {
      j.spec.checkpoint.everyNSteps = 0;
    },
    path: 'spec.checkpoint.everyNSteps',
    code: 'range',
  },
  {
    name: 'checkpoint mode unknown',
    mutate: (j) => {
      j.spec.checkpoint.mode = 'minimize';
    },
    path: 'spec.checkpoint.mode',
    code: 'enum',
    says: 'one of min, max',
  },
  {
    name: 'keepBest without monitor',
    mutate: (j) => {
      delete j.spec.checkpoint.monitor;
    },
    path: 'spec.checkpoint.monitor',
    code: 'required',
    says: 'keepBest',
  },
  // runPolicy
  {
    name: 'unknown cleanPodPolicy',
    mutate: (j) => {
      j.spec.runPolicy.cleanPodPolicy = 'OnFailure';
    },
    path: 'spec.runPolicy.cleanPodPolicy',
    code: 'enum',
    says: 'None, Running, All',
  },
  {
    name: 'unknown restart policy field',
    mutate: (j) => {
      j.spec.runPolicy.restartPolicy = 'Always';
    },
    path: 'spec.runPolicy.restartPolicy',
    code: 'unknown-field',
  },
  {
    name: 'negative maxRestarts',
    mutate: (j) => {
      j.spec.runPolicy.maxRestarts = -1;
    },
    path: 'spec.runPolicy.maxRestarts',
    code: 'range',
  },
  {
    name: 'exit code out of range',
    mutate: (j) => {
      j.spec.runPolicy.retryOnExitCodes = [137, 300];
    },
    path: 'spec.runPolicy.retryOnExitCodes[1]',
    code: 'range',
  },
  {
    name: 'exit code repeated',
    mutate: (j) => {
      j.spec.runPolicy.retryOnExitCodes = [137, 137];
    },
    path: 'spec.runPolicy.retryOnExitCodes',
    code: 'duplicate',
  },
  {
    name: 'suspend as a string',
    mutate: (j) => {
      j.spec.runPolicy.suspend = 'no';
    },
    path: 'spec.runPolicy.suspend',
    code: 'type',
    says: 'true or false',
  },
  {
    name: 'zero activeDeadlineSeconds',
    mutate: (j) => {
      j.spec.runPolicy.activeDeadlineSeconds = 0;
    },
    path: 'spec.runPolicy.activeDeadlineSeconds',
    code: 'range',
  },
  // scheduling
  {
    name: 'zero gangTimeoutSeconds',
    mutate: (j) => {
      j.spec.scheduling.gangTimeoutSeconds = 0;
    },
    path: 'spec.scheduling.gangTimeoutSeconds',
    code: 'range',
  },
  {
    name: 'nodeSelector value not a string',
    mutate: (j) => {
      j.spec.scheduling.nodeSelector = { gpu: true };
    },
    path: 'spec.scheduling.nodeSelector.gpu',
    code: 'type',
  },
  {
    name: 'toleration with unknown effect',
    mutate: (j) => {
      j.spec.scheduling.tolerations = [{ key: 'gpu', operator: 'Exists', effect: 'Evict' }];
    },
    path: 'spec.scheduling.tolerations[0].effect',
    code: 'enum',
  },
  {
    name: 'toleration Exists with a value',
    mutate: (j) => {
      j.spec.scheduling.tolerations = [{ key: 'gpu', operator: 'Exists', value: 'yes' }];
    },
    path: 'spec.scheduling.tolerations[0].value',
    code: 'rule',
  },
  {
    name: 'toleration without key nor Exists',
    mutate: (j) => {
      j.spec.scheduling.tolerations = [{ operator: 'Equal', value: 'x' }];
    },
    path: 'spec.scheduling.tolerations[0].operator',
    code: 'rule',
  },
  // elastic
  {
    name: 'minWorkers above maxWorkers',
    mutate: (j) => {
      j.spec.elastic = { minWorkers: 8, maxWorkers: 2 };
    },
    path: 'spec.elastic.minWorkers',
    code: 'rule',
    says: '≤ elastic.maxWorkers',
  },
  {
    name: 'workers below elastic.minWorkers',
    mutate: (j) => {
      j.spec.workers = 1;
    },
    path: 'spec.workers',
    code: 'rule',
    says: 'between elastic.minWorkers (2)',
  },
  {
    name: 'workers above elastic.maxWorkers',
    mutate: (j) => {
      j.spec.workers = 9;
    },
    path: 'spec.workers',
    code: 'rule',
  },
  {
    name: 'elastic without maxWorkers',
    mutate: (j) => {
      delete j.spec.elastic.maxWorkers;
    },
    path: 'spec.elastic.maxWorkers',
    code: 'required',
  },
  {
    name: 'elastic minWorkers zero',
    mutate: (j) => {
      j.spec.elastic.minWorkers = 0;
    },
    path: 'spec.elastic.minWorkers',
    code: 'range',
  },
  // tracking, unknown fields, status
  {
    name: 'tracking project with a space',
    mutate: (j) => {
      j.spec.tracking.project = 'my project';
    },
    path: 'spec.tracking.project',
    code: 'pattern',
  },
  {
    name: 'unknown spec field',
    mutate: (j) => {
      j.spec.replicas = 4;
    },
    path: 'spec.replicas',
    code: 'unknown-field',
    says: 'workers',
  },
  {
    name: 'unknown top-level field',
    mutate: (j) => {
      j.specs = {};
    },
    path: 'specs',
    code: 'unknown-field',
  },
  {
    name: 'unknown status phase',
    mutate: (j) => {
      j.status = { phase: 'Done' };
    },
    path: 'status.phase',
    code: 'enum',
  },
  {
    name: 'status percent over 100',
    mutate: (j) => {
      j.status = { progress: { percent: 120 } };
    },
    path: 'status.progress.percent',
    code: 'range',
  },
  {
    name: 'status time not RFC 3339',
    mutate: (j) => {
      j.status = { startTime: 'yesterday' };
    },
    path: 'status.startTime',
    code: 'format',
  },
  {
    name: 'status metric not a number',
    mutate: (j) => {
      j.status = { progress: { metrics: { 'train/loss': 'low' } } };
    },
    path: 'status.progress.metrics["train/loss"]',
    code: 'type',
  },
];

describe('validateTrainingJob rejects malformed jobs, naming the field', () => {
  it('has at least 40 cases', () => assert.ok(badCases.length >= 40, `${badCases.length} cases`));
  for (const c of badCases) {
    it(c.name, () => {
      const job = exampleJob();
      c.mutate(job);
      const result = validateTrainingJob(job);
      assert.equal(result.ok, false, 'expected the job to be rejected');
      if (result.ok) return;
      const paths = result.errors.map((e) => e.path);
      assert.deepEqual(paths, [c.path], `errors: ${JSON.stringify(result.errors, null, 1)}`);
      const [error] = result.errors;
      if (c.code) assert.equal(error?.code, c.code, error?.message);
      const message = error?.message ?? '';
      if (typeof c.says === 'string')
        assert.ok(message.includes(c.says), `"${message}" should say "${c.says}"`);
      else if (c.says) assert.match(message, c.says);
    });
  }
});

describe('validateTrainingJob accepts valid jobs', () => {
  it('accepts the ARCHITECTURE.md example as written', () => {
    const result = validateTrainingJob(exampleJob());
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.equal(result.value.spec.workers, 4);
    assert.deepEqual(result.value.spec.resources.limits, { 'nvidia.com/gpu': 1, cpu: '4', memory: '16Gi' });
  });

  it('fills in every default, on a copy', () => {
    const input = minimalJob();
    const before = structuredClone(input);
    const result = validateTrainingJob(input);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(input, before, 'the input must not change');
    const { spec } = result.value;
    assert.deepEqual(spec.args, []);
    assert.deepEqual(spec.env, []);
    assert.equal(spec.workers, 1);
    assert.equal(spec.procsPerWorker, 1);
    assert.deepEqual(spec.resources, {});
    assert.deepEqual(spec.hyperparameters, {});
    assert.deepEqual(spec.runPolicy, {
      maxRestarts: 3,
      retryOnExitCodes: [137, 143],
      cleanPodPolicy: 'Running',
      suspend: false,
    });
    assert.deepEqual(spec.scheduling, { gangTimeoutSeconds: 300, nodeSelector: {}, tolerations: [] });
    assert.equal(spec.checkpoint, undefined);
    assert.equal(spec.elastic, undefined);
  });

  it('fills in checkpoint defaults when a checkpoint is given', () => {
    const job = minimalJob();
    job.spec.checkpoint = { volumeClaim: 'ckpt' };
    const result = validateTrainingJob(job);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(result.value.spec.checkpoint, {
      volumeClaim: 'ckpt',
      everyNSteps: 500,
      keepLast: 2,
      keepBest: 0,
      mode: 'min',
    });
  });

  it('does not share default objects between results', () => {
    const a = validateTrainingJob(minimalJob());
    const b = validateTrainingJob(minimalJob());
    assert.ok(a.ok && b.ok);
    a.value.spec.runPolicy.retryOnExitCodes.push(1);
    assert.deepEqual(b.value.spec.runPolicy.retryOnExitCodes, [137, 143]);
  });

  it('treats undefined properties as absent', () => {
    const job = minimalJob();
    job.spec.workers = undefined;
    job.spec.elastic = undefined;
    const result = validateTrainingJob(job);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.equal(result.value.spec.workers, 1);
  });

  it('accepts a name exactly as long as the worker pods allow', () => {
    const job = minimalJob();
    job.spec.workers = 10; // last pod: <name>-worker-9, so the name may have 63 - 8 - 1 = 54 characters
    job.metadata.name = `a${'b'.repeat(53)}`;
    assert.ok(validateTrainingJob(job).ok);
    job.metadata.name += 'c';
    assert.equal(validateTrainingJob(job).ok, false);
  });

  it('accepts server-set metadata and a full status', () => {
    const job = exampleJob();
    Object.assign(job.metadata, {
      uid: '0b7c…',
      resourceVersion: '42',
      generation: 3,
      creationTimestamp: '2026-11-23T07:00:00Z',
      managedFields: [{ manager: 'kubectl', operation: 'Update' }],
    });
    job.status = {
      phase: 'Running',
      conditions: [
        {
          type: 'Admitted',
          status: 'True',
          lastTransitionTime: '2026-11-23T07:00:01Z',
          reason: 'GangAdmitted',
          message: '',
        },
      ],
      workers: { ready: 4, running: 4, succeeded: 0, failed: 0 },
      restarts: 0,
      runId: 'run_01',
      lastCheckpoint: { step: 1500, path: '/ckpt/step-1500', time: '2026-11-23T07:10:00Z' },
      progress: {
        step: 1500,
        totalSteps: 5000,
        epoch: 1,
        percent: 30,
        etaSeconds: 420,
        metrics: { 'train/loss': 0.21 },
      },
      startTime: '2026-11-23T07:00:02Z',
      observedGeneration: 3,
    };
    const result = validateTrainingJob(job);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  });

  it('accepts env from secrets, quantities in every form, and tolerations', () => {
    const job = minimalJob();
    job.spec.env = [
      { name: 'WANDB_MODE', value: 'offline' },
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'tokens', key: 'hub' } } },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ];
    job.spec.resources = {
      requests: { cpu: '500m', memory: '1.5Gi', 'ephemeral-storage': '1e9' },
      limits: { cpu: 2 },
    };
    job.spec.scheduling = {
      tolerations: [
        { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
        { operator: 'Exists' },
      ],
    };
    const result = validateTrainingJob(job);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.equal(result.value.spec.scheduling.gangTimeoutSeconds, 300);
  });
});

describe('validateTrainingJob reports every error at once', () => {
  it('lists each broken field once, schema and cross-field errors together', () => {
    const job = exampleJob();
    delete job.spec.image;
    job.spec.workers = 'four';
    job.spec.runPolicy.cleanPodPolicy = 'Sometimes';
    job.spec.elastic = { minWorkers: 9, maxWorkers: 8 };
    job.spec.env = [{ name: 'RANK', value: '1' }];
    job.spec.extra = true;
    const result = validateTrainingJob(job);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(result.errors.map((e) => e.path).sort(), [
      'spec.elastic.minWorkers',
      'spec.env[0].name',
      'spec.extra',
      'spec.image',
      'spec.runPolicy.cleanPodPolicy',
      'spec.workers',
    ]);
  });

  it('rejects values that are not objects', () => {
    for (const input of [null, 42, 'TrainingJob', [], undefined]) {
      const result = validateTrainingJob(input);
      assert.equal(result.ok, false);
      if (!result.ok)
        assert.deepEqual(
          result.errors.map((e) => e.path),
          [''],
          JSON.stringify(result.errors),
        );
    }
  });

  it('says what was received', () => {
    const job = exampleJob();
    job.spec.workers = -3;
    delete job.spec.elastic;
    const result = validateTrainingJob(job);
    assert.ok(!result.ok);
    assert.equal(result.errors[0]?.message, 'must be an integer from 1 to 1024 (got -3)');
    assert.equal(result.errors[0]?.value, -3);
  });
});

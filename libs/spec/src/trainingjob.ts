// TrainingJob kiln.dev/v1alpha1: the one definition of the resource users write. TypeBox builds JSON
// Schema directly, so this file yields the static types, the validator and the CRD's openAPIV3Schema.
// Fields with a `default` are required in the static type: validation returns them filled in.
import { type Static, Type } from '@sinclair/typebox';
import * as cel from './cel-rules.js';
import { API_GROUP_VERSION, TRAININGJOB_KIND } from './constants.js';
import { DNS_LABEL_MAX, DNS1035_LABEL_PATTERN, DNS1123_SUBDOMAIN_PATTERN } from './names.js';
import { FreeForm, Int, Quantity, ResourceList, Strict, StringEnum, StringMap } from './schema-helpers.js';
import { RESTART_EXIT_CODES_DEFAULT } from './worker-contract.js';

export const CLEAN_POD_POLICIES = ['None', 'Running', 'All'] as const;
export const CHECKPOINT_MODES = ['min', 'max'] as const;
export const PHASES = [
  'Pending',
  'Queued',
  'Starting',
  'Running',
  'Restarting',
  'Succeeded',
  'Failed',
  'Suspended',
] as const;
export const TERMINAL_PHASES = ['Succeeded', 'Failed'] as const;
export const MAX_WORKERS = 1024;

const DnsSubdomain = (description: string) =>
  Type.String({
    minLength: 1,
    maxLength: 253,
    pattern: DNS1123_SUBDOMAIN_PATTERN,
    expected: 'a DNS-1123 subdomain (lowercase letters, digits, "-" and ".")',
    description,
  });

const EnvName = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: '^[-._a-zA-Z][-._a-zA-Z0-9]*$',
  expected: 'an environment variable name (letters, digits, "_", "-", "."; not starting with a digit)',
});

const KeySelector = Strict({
  name: Type.String({ maxLength: 253 }),
  key: Type.String({ minLength: 1, maxLength: 253 }),
  optional: Type.Optional(Type.Boolean()),
});

/** corev1 EnvVarSource. */
export const EnvVarSourceSchema = Strict(
  {
    fieldRef: Type.Optional(
      Strict({
        apiVersion: Type.Optional(Type.String()),
        fieldPath: Type.String({ minLength: 1, maxLength: 256 }),
      }),
    ),
    resourceFieldRef: Type.Optional(
      Strict({
        containerName: Type.Optional(Type.String({ maxLength: 253 })),
        resource: Type.String({ minLength: 1, maxLength: 256 }),
        divisor: Type.Optional(Quantity()),
      }),
    ),
    configMapKeyRef: Type.Optional(KeySelector),
    secretKeyRef: Type.Optional(KeySelector),
  },
  { 'x-kubernetes-validations': [cel.envSourceExactlyOne] },
);

/** corev1 EnvVar. */
export const EnvVarSchema = Strict(
  {
    name: EnvName,
    value: Type.Optional(Type.String({ maxLength: 32768 })),
    valueFrom: Type.Optional(EnvVarSourceSchema),
  },
  { 'x-kubernetes-validations': [cel.envValueXorValueFrom, cel.envNotReserved] },
);

export const ResourcesSchema = Strict(
  {
    limits: Type.Optional(ResourceList({ description: 'Most of each resource a worker pod may use.' })),
    requests: Type.Optional(ResourceList({ description: 'Resources reserved for each worker pod.' })),
  },
  { default: {}, description: 'Resources of each worker pod, as in a container.' },
);

export const CheckpointSchema = Strict(
  {
    volumeClaim: DnsSubdomain('PersistentVolumeClaim, shared by all workers, that holds the checkpoints.'),
    everyNSteps: Int(1, undefined, { default: 500, description: 'Save every N optimizer steps.' }),
    keepLast: Int(1, 1000, { default: 2, description: 'How many of the latest checkpoints to keep.' }),
    keepBest: Int(0, 1000, {
      default: 0,
      description: 'How many of the best checkpoints (by monitor) to keep.',
    }),
    monitor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: 'Metric that ranks checkpoints, e.g. val/loss.',
      }),
    ),
    mode: StringEnum(CHECKPOINT_MODES, {
      default: 'min',
      description: 'Whether a lower or higher monitor is better.',
    }),
  },
  { 'x-kubernetes-validations': [cel.keepBestNeedsMonitor] },
);

export const RunPolicySchema = Strict(
  {
    maxRestarts: Int(0, 1000, {
      default: 3,
      description: 'Whole-gang restarts, each resuming from the last checkpoint, before the job fails.',
    }),
    retryOnExitCodes: Type.Array(Int(1, 255), {
      default: RESTART_EXIT_CODES_DEFAULT,
      maxItems: 255,
      uniqueItems: true,
      'x-kubernetes-list-type': 'set',
      description: 'Exit codes that restart the gang (preemption-like); any other failure is permanent.',
    }),
    activeDeadlineSeconds: Type.Optional(Int(1, undefined, { description: 'Fail the job after this long.' })),
    ttlSecondsAfterFinished: Type.Optional(
      Int(0, undefined, { description: 'Delete the finished job after this long.' }),
    ),
    cleanPodPolicy: StringEnum(CLEAN_POD_POLICIES, {
      default: 'Running',
      description: 'Pods deleted when the job ends: None, those still Running, or All.',
    }),
    suspend: Type.Boolean({
      default: false,
      description: 'Stop (or do not start) the workers, keeping the job.',
    }),
  },
  { default: {} },
);

export const TolerationSchema = Strict(
  {
    key: Type.Optional(Type.String({ maxLength: 316 })),
    operator: Type.Optional(StringEnum(['Exists', 'Equal'] as const)),
    value: Type.Optional(Type.String({ maxLength: 63 })),
    effect: Type.Optional(StringEnum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const)),
    tolerationSeconds: Type.Optional(Type.Integer()),
  },
  { 'x-kubernetes-validations': [cel.tolerationExistsHasNoValue, cel.tolerationEmptyKeyNeedsExists] },
);

export const SchedulingSchema = Strict(
  {
    gangTimeoutSeconds: Int(1, 86400, {
      default: 300,
      description: 'How long the whole gang may wait for capacity before the job fails.',
    }),
    priorityClassName: Type.Optional(
      Type.String({
        maxLength: 253,
        pattern: `^$|${DNS1123_SUBDOMAIN_PATTERN}`,
        expected: 'empty or a PriorityClass name (a DNS-1123 subdomain)',
      }),
    ),
    nodeSelector: StringMap({ default: {} }),
    tolerations: Type.Array(TolerationSchema, { default: [], maxItems: 64 }),
  },
  { default: {} },
);

export const ElasticSchema = Strict(
  {
    minWorkers: Int(1, MAX_WORKERS, { description: 'Fewest workers the job runs with.' }),
    maxWorkers: Int(1, MAX_WORKERS, { description: 'Most workers the job grows to when capacity appears.' }),
  },
  {
    'x-kubernetes-validations': [cel.elasticMinNotAboveMax],
    description: 'Run with what fits between these bounds; grow when capacity appears.',
  },
);

export const TrackingSchema = Strict({
  project: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
      expected: 'a project name (letters, digits, ".", "_", "-"; starting with a letter or digit)',
    }),
  ),
  runName: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
});

export const TrainingJobSpecSchema = Strict(
  {
    image: Type.String({ minLength: 1, maxLength: 1024, description: 'Container image of every worker.' }),
    command: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), {
      minItems: 1,
      maxItems: 256,
      description: 'Entrypoint of every worker, e.g. ["kiln", "fit", "train.ts"].',
    }),
    args: Type.Array(Type.String({ maxLength: 4096 }), { default: [], maxItems: 1024 }),
    env: Type.Array(EnvVarSchema, {
      default: [],
      maxItems: 256,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      description: 'Extra environment of every worker (corev1 EnvVar list).',
    }),
    workers: Int(1, MAX_WORKERS, { default: 1, description: 'Worker pods; each runs procsPerWorker ranks.' }),
    procsPerWorker: Int(1, 64, { default: 1, description: 'Ranks per worker pod, usually one per GPU.' }),
    resources: ResourcesSchema,
    hyperparameters: FreeForm({
      default: {},
      description: 'Delivered to the Trainer as KILN_HPARAMS (JSON).',
    }),
    checkpoint: Type.Optional(CheckpointSchema),
    runPolicy: RunPolicySchema,
    scheduling: SchedulingSchema,
    elastic: Type.Optional(ElasticSchema),
    tracking: Type.Optional(TrackingSchema),
  },
  { 'x-kubernetes-validations': [cel.workersWithinElastic] },
);

const Time = (description?: string) =>
  Type.String({
    format: 'date-time',
    expected: 'an RFC 3339 date-time such as 2026-11-23T07:00:00Z',
    description,
  });

/** metav1.Condition. */
export const ConditionSchema = Strict({
  type: Type.String({ minLength: 1, maxLength: 316 }),
  status: StringEnum(['True', 'False', 'Unknown'] as const),
  observedGeneration: Type.Optional(Int(0, undefined)),
  lastTransitionTime: Time(),
  reason: Type.String({
    minLength: 1,
    maxLength: 1024,
    pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    expected: 'a CamelCase reason such as GangAdmitted',
  }),
  message: Type.String({ maxLength: 32768 }),
});

export const TrainingJobStatusSchema = Strict({
  phase: Type.Optional(StringEnum(PHASES)),
  conditions: Type.Optional(
    Type.Array(ConditionSchema, {
      maxItems: 64,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    }),
  ),
  workers: Type.Optional(
    Strict({
      ready: Type.Optional(Int(0, undefined)),
      running: Type.Optional(Int(0, undefined)),
      succeeded: Type.Optional(Int(0, undefined)),
      failed: Type.Optional(Int(0, undefined)),
    }),
  ),
  restarts: Type.Optional(Int(0, undefined)),
  runId: Type.Optional(Type.String({ maxLength: 256, description: "The run's id in Postgres." })),
  lastCheckpoint: Type.Optional(
    Strict({
      step: Int(0, undefined),
      path: Type.String({ minLength: 1, maxLength: 4096 }),
      time: Time(),
    }),
  ),
  progress: Type.Optional(
    Strict({
      step: Type.Optional(Int(0, undefined)),
      totalSteps: Type.Optional(Int(0, undefined)),
      epoch: Type.Optional(Int(0, undefined)),
      percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
      etaSeconds: Type.Optional(Int(0, undefined)),
      metrics: Type.Optional(
        Type.Record(Type.String(), Type.Number(), {
          maxProperties: 256,
          description: 'Latest value of each metric, e.g. train/loss.',
        }),
      ),
    }),
  ),
  startTime: Type.Optional(Time()),
  completionTime: Type.Optional(Time()),
  observedGeneration: Type.Optional(Int(0, undefined)),
});

/** The ObjectMeta fields a manifest may carry; the server-set ones are accepted so stored objects validate. */
export const ObjectMetaSchema = Strict({
  name: Type.String({
    minLength: 1,
    maxLength: DNS_LABEL_MAX,
    pattern: DNS1035_LABEL_PATTERN,
    expected: `a DNS-1035 label of at most ${DNS_LABEL_MAX} characters (lowercase letters, digits and "-", starting with a letter and ending with a letter or digit)`,
  }),
  namespace: Type.Optional(
    Type.String({
      maxLength: DNS_LABEL_MAX,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      expected: 'a namespace name (a DNS-1123 label)',
    }),
  ),
  labels: Type.Optional(StringMap()),
  annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  uid: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  creationTimestamp: Type.Optional(Type.Union([Time(), Type.Null()])),
  deletionTimestamp: Type.Optional(Time()),
  deletionGracePeriodSeconds: Type.Optional(Type.Integer()),
  finalizers: Type.Optional(Type.Array(Type.String())),
  ownerReferences: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
  managedFields: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
  generateName: Type.Optional(Type.String()),
  selfLink: Type.Optional(Type.String()),
});

export const TrainingJobSchema = Strict(
  {
    apiVersion: Type.Literal(API_GROUP_VERSION),
    kind: Type.Literal(TRAININGJOB_KIND),
    metadata: ObjectMetaSchema,
    spec: TrainingJobSpecSchema,
    status: Type.Optional(TrainingJobStatusSchema),
  },
  { 'x-kubernetes-validations': [cel.nameFitsWorkerPods] },
);

export type EnvVar = Static<typeof EnvVarSchema>;
export type Resources = Static<typeof ResourcesSchema>;
export type Checkpoint = Static<typeof CheckpointSchema>;
export type RunPolicy = Static<typeof RunPolicySchema>;
export type Toleration = Static<typeof TolerationSchema>;
export type Scheduling = Static<typeof SchedulingSchema>;
export type Elastic = Static<typeof ElasticSchema>;
export type Tracking = Static<typeof TrackingSchema>;
export type TrainingJobSpec = Static<typeof TrainingJobSpecSchema>;
export type Condition = Static<typeof ConditionSchema>;
export type TrainingJobStatus = Static<typeof TrainingJobStatusSchema>;
export type TrainingJobPhase = (typeof PHASES)[number];
export type CleanPodPolicy = (typeof CLEAN_POD_POLICIES)[number];
export type ObjectMeta = Static<typeof ObjectMetaSchema>;
/** A validated TrainingJob with every default filled in. */
export type TrainingJob = Static<typeof TrainingJobSchema>;

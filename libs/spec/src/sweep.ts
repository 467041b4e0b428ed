// Sweep: a hyperparameter search over TrainingJobs. Its state lives in Postgres (the sweeps worker
// creates one TrainingJob per trial), so there is no Sweep CRD; this is the document `kiln sweep` and
// the API accept.
import { type Static, Type } from '@sinclair/typebox';
import { API_GROUP_VERSION, SWEEP_KIND } from './constants.js';
import { DNS_LABEL_MAX, DNS1035_LABEL_PATTERN } from './names.js';
import { Int, Strict, StringEnum, StringMap } from './schema-helpers.js';
import { TrainingJobSpecSchema } from './trainingjob.js';

export const SWEEP_ALGORITHMS = ['grid', 'random', 'tpe', 'asha', 'hyperband', 'median-stop'] as const;
export const PARAMETER_TYPES = ['uniform', 'loguniform', 'int', 'choice'] as const;
export const OBJECTIVE_GOALS = ['minimize', 'maximize'] as const;
/** How early-stopping algorithms pick the trials they stop: at random (Katib, the Hyperband paper) or by TPE. */
export const SWEEP_SAMPLERS = ['random', 'tpe'] as const;
/** What early-stopping algorithms count as budget: epochs or optimizer steps reported by the Trainer. */
export const SWEEP_RESOURCES = ['epoch', 'step'] as const;

const Seed = Type.Optional(
  Int(0, 2 ** 32 - 1, { description: 'Seed of the search; same seed, same trials.' }),
);
const Resource = StringEnum(SWEEP_RESOURCES, { default: 'epoch' });
const Sampler = Type.Optional(
  StringEnum(SWEEP_SAMPLERS, {
    description: 'Sampler of the trials: random (when absent) or tpe (10 startup trials, 24 candidates).',
  }),
);

export const ObjectiveSchema = Strict({
  metric: Type.String({
    minLength: 1,
    maxLength: 256,
    description: 'Metric the Trainer logs, e.g. val/loss.',
  }),
  goal: StringEnum(OBJECTIVE_GOALS),
});

const Successive = <T extends 'asha' | 'hyperband'>(type: T) =>
  Strict({
    type: Type.Literal(type),
    seed: Seed,
    sampler: Sampler,
    resource: Resource,
    minResource: Int(1, undefined, { default: 1, description: 'Budget of the first rung.' }),
    maxResource: Int(1, undefined, { description: 'Most budget any trial gets (e.g. max epochs).' }),
    reductionFactor: Int(2, 100, {
      default: 3,
      description: 'Keep 1/reductionFactor of trials per rung (eta).',
    }),
  });

export const AlgorithmSchema = Type.Union([
  Strict({ type: Type.Literal('grid') }),
  Strict({ type: Type.Literal('random'), seed: Seed }),
  Strict({
    type: Type.Literal('tpe'),
    seed: Seed,
    startupTrials: Int(1, 1000, { default: 10, description: 'Random trials before the model takes over.' }),
    candidates: Int(1, 10000, { default: 24, description: 'Candidates scored per suggestion.' }),
  }),
  Successive('asha'),
  Successive('hyperband'),
  Strict({
    type: Type.Literal('median-stop'),
    seed: Seed,
    sampler: Sampler,
    resource: Resource,
    startupTrials: Int(1, 1000, { default: 5, description: 'Trials that finish before any is stopped.' }),
    minResource: Int(1, undefined, {
      default: 1,
      description: 'Budget a trial gets before it may be stopped.',
    }),
  }),
]);

const Bound = Type.Number();
const ChoiceValue = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);
/** Conditional parameter: sampled only while each named parameter takes one of the listed values. */
const When = Type.Optional(
  Type.Record(Type.String(), Type.Array(ChoiceValue, { minItems: 1, maxItems: 1000 }), {
    minProperties: 1,
    maxProperties: 8,
    description:
      'Active only when each named (int or choice) parameter takes one of the listed values, e.g. {optimizer: [sgd]}.',
  }),
);
export const ParameterSchema = Type.Union([
  Strict({ type: Type.Literal('uniform'), min: Bound, max: Bound, when: When }),
  Strict({
    type: Type.Literal('loguniform'),
    min: Type.Number({ exclusiveMinimum: 0, expected: 'a number > 0' }),
    max: Bound,
    when: When,
  }),
  Strict({
    type: Type.Literal('int'),
    min: Type.Integer(),
    max: Type.Integer(),
    step: Type.Optional(Int(1, undefined)),
    log: Type.Optional(Type.Boolean({ description: 'Sample on a log scale (min ≥ 1, step 1).' })),
    when: When,
  }),
  Strict({
    type: Type.Literal('choice'),
    values: Type.Array(ChoiceValue, {
      minItems: 1,
      maxItems: 1000,
      uniqueItems: true,
    }),
    when: When,
  }),
]);

export const SweepSpecSchema = Strict({
  objective: ObjectiveSchema,
  algorithm: AlgorithmSchema,
  parameters: Type.Record(Type.String(), ParameterSchema, {
    minProperties: 1,
    maxProperties: 64,
    description: 'Search space: hyperparameter name → distribution; sampled values override the template.',
  }),
  maxTrials: Type.Optional(Int(1, 100000, { description: 'Required except for grid (the grid size).' })),
  parallelism: Int(1, 1000, { default: 1, description: 'Trials running at once.' }),
  trialTemplate: TrainingJobSpecSchema,
});

export const SweepSchema = Strict({
  apiVersion: Type.Literal(API_GROUP_VERSION),
  kind: Type.Literal(SWEEP_KIND),
  metadata: Strict({
    name: Type.String({
      minLength: 1,
      maxLength: DNS_LABEL_MAX,
      pattern: DNS1035_LABEL_PATTERN,
      expected: 'a DNS-1035 label (lowercase letters, digits and "-", starting with a letter)',
    }),
    namespace: Type.Optional(Type.String({ maxLength: DNS_LABEL_MAX })),
    labels: Type.Optional(StringMap()),
  }),
  spec: SweepSpecSchema,
});

export type Objective = Static<typeof ObjectiveSchema>;
export type SweepAlgorithm = Static<typeof AlgorithmSchema>;
export type SweepParameter = Static<typeof ParameterSchema>;
export type SweepSpec = Static<typeof SweepSpecSchema>;
export type Sweep = Static<typeof SweepSchema>;

// Request and answer shapes of the sweep endpoints (the Sweep document itself is @kiln/spec's).
import { Type } from '@sinclair/typebox';
import { Int, Nullable, Time } from '../http/responses.js';
import { Uuid } from '../http/schemas.js';

export const SWEEP_STATUSES = ['running', 'paused', 'stopping', 'stopped', 'completed'] as const;
/** A trial's states: the search's four, and `stopped` for trials ended by stopping their sweep. */
export const TRIAL_STATES = ['running', 'complete', 'pruned', 'failed', 'stopped'] as const;
const oneOf = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const ListSweepsQuery = Type.Object(
  {
    status: Type.Optional(oneOf(SWEEP_STATUSES)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
  },
  { additionalProperties: false },
);

export const TRIAL_SORTS = ['number', '-number', 'value', '-value', 'best'] as const;
export const TrialsQuery = Type.Object(
  {
    sort: Type.Optional(
      Type.Union(
        TRIAL_SORTS.map((s) => Type.Literal(s)),
        { description: 'best: by objective toward the goal, trials without a value last' },
      ),
    ),
    state: Type.Optional(oneOf(TRIAL_STATES)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
  },
  { additionalProperties: false },
);

/** The limits editable while a sweep runs (the bounds are the spec's). */
export const PatchSweep = Type.Object(
  {
    maxTrials: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
    parallelism: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const SweepBody = Type.Object(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    metadata: Type.Object({ name: Type.String() }),
    spec: Type.Object({}),
  },
  { description: 'A Sweep document (kiln.dev/v1alpha1, kind Sweep); validated with @kiln/spec' },
);

export const CreateSweepQuery = Type.Object(
  {
    executor: Type.Optional(
      Type.Union([Type.Literal('cluster'), Type.Literal('local')], {
        description: 'local: trials run as processes of `kiln sweep create --local`, not as TrainingJobs',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Trial = Type.Object({
  id: Uuid,
  number: Int,
  state: oneOf(TRIAL_STATES),
  params: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean()])),
  value: Nullable(Type.Number()),
  intermediate: Type.Array(Type.Object({ step: Int, value: Type.Number() })),
  reason: Nullable(Type.String()),
  jobName: Type.String(),
  runId: Nullable(Uuid),
  createdAt: Time,
  updatedAt: Time,
  finishedAt: Nullable(Time),
});
export const Trials = Type.Object({ items: Type.Array(Trial), total: Int });

export const Sweep = Type.Object({
  id: Uuid,
  projectId: Uuid,
  name: Type.String(),
  namespace: Type.String(),
  executor: oneOf(['cluster', 'local']),
  status: oneOf(SWEEP_STATUSES),
  message: Nullable(Type.String()),
  objective: Type.Object({ metric: Type.String(), goal: oneOf(['minimize', 'maximize']) }),
  maxTrials: Nullable(Int),
  parallelism: Int,
  trials: Type.Object({ total: Int, running: Int, complete: Int, pruned: Int, failed: Int, stopped: Int }),
  best: Nullable(Trial),
  spec: Type.Object({}, { description: 'the Sweep document as submitted (kiln.dev/v1alpha1, kind Sweep)' }),
  createdAt: Time,
  updatedAt: Time,
  finishedAt: Nullable(Time),
});
export const Sweeps = Type.Object({ items: Type.Array(Sweep), total: Int });

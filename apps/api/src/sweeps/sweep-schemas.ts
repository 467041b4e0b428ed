// Request shapes of the sweep endpoints (the Sweep document itself is @kiln/spec's).
import { Type } from '@sinclair/typebox';

export const SWEEP_STATUSES = ['running', 'paused', 'stopping', 'stopped', 'completed'] as const;

export const ListSweepsQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(SWEEP_STATUSES.map((s) => Type.Literal(s)))),
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
    state: Type.Optional(
      Type.Union(['running', 'complete', 'pruned', 'failed', 'stopped'].map((s) => Type.Literal(s))),
    ),
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

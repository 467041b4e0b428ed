// Request shapes, in TypeBox. They validate requests and are published in the OpenAPI document.
import { FormatRegistry, Type } from '@sinclair/typebox';

const uuidPattern = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const uuidRe = new RegExp(uuidPattern);
// TypeBox checks `format` only for formats registered with it.
FormatRegistry.Set('uuid', (v) => uuidRe.test(v));

const Name = Type.String({ minLength: 1, maxLength: 200 });
// DNS-1123 label, as Kubernetes requires of namespaces.
const Namespace = Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 });
export const Uuid = Type.String({
  format: 'uuid',
  pattern: uuidPattern,
  description: 'a UUID',
});
// Columns: int4 (epoch, offsets Prisma passes as int), int8 (steps, sizes; JS numbers stay exact to 2^53).
const Int32 = Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 });
const Int53 = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Step = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const FiniteNumber = Type.Number({ description: 'a finite number (NaN and Infinity are refused)' });
const MetricKey = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f]+$' });
const RunStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('queued'),
  Type.Literal('starting'),
  Type.Literal('running'),
  Type.Literal('restarting'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('suspended'),
  Type.Literal('cancelled'),
]);

export const CreateProject = Type.Object(
  { name: Type.String({ pattern: '^[a-z0-9][-a-z0-9_]{0,62}$' }), namespace: Namespace },
  { additionalProperties: false },
);

export const CreateToken = Type.Object(
  {
    name: Name,
    scope: Type.Union([Type.Literal('read'), Type.Literal('write')]),
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 * 365 * 86400 })),
  },
  { additionalProperties: false },
);

export const CreateRun = Type.Object(
  {
    name: Name,
    hyperparams: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    jobNamespace: Type.Optional(Namespace),
    jobName: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    jobUid: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    sweepId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    trialId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    status: Type.Optional(RunStatus),
    /** Also issue a token that may write only this run (for `kiln fit --track` and worker pods). */
    issueToken: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const Progress = Type.Object(
  {
    step: Step,
    totalSteps: Type.Optional(Type.Union([Step, Type.Null()])),
    epoch: Type.Optional(Int32),
    etaSeconds: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
    metrics: Type.Optional(Type.Record(MetricKey, FiniteNumber, { maxProperties: 100 })),
  },
  { additionalProperties: false },
);

export const UpdateRun = Type.Object(
  {
    status: Type.Optional(RunStatus),
    exitReason: Type.Optional(Type.String({ maxLength: 2000 })),
    hyperparams: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    progress: Type.Optional(Progress),
  },
  { additionalProperties: false },
);

export const ListRunsQuery = Type.Object({
  status: Type.Optional(RunStatus),
  sweepId: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  sort: Type.Optional(
    Type.Union([
      Type.Literal('createdAt'),
      Type.Literal('-createdAt'),
      Type.Literal('name'),
      Type.Literal('-name'),
    ]),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  offset: Type.Optional(Int32),
});

export const MetricPointIn = Type.Object(
  {
    key: MetricKey,
    step: Step,
    value: FiniteNumber,
    time: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 8.64e15,
        description: 'wall time, ms since the epoch; default: now',
      }),
    ),
  },
  { additionalProperties: false },
);

export const SeriesIn = Type.Object(
  {
    key: MetricKey,
    steps: Type.Array(Step),
    values: Type.Array(FiniteNumber),
    times: Type.Optional(
      Type.Array(Type.Number({ minimum: 0, maximum: 8.64e15 }), {
        description: 'ms since the epoch; default: now',
      }),
    ),
  },
  { additionalProperties: false },
);

/**
 * A batch as rows (`points`), as columns per key (`series`: parallel steps/values/times arrays, smaller
 * and faster to parse; what the PlatformLogger sends), or both.
 */
export const IngestMetrics = Type.Object(
  {
    points: Type.Optional(Type.Array(MetricPointIn)),
    series: Type.Optional(Type.Array(SeriesIn)),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const SeriesQuery = Type.Object({
  key: MetricKey,
  maxPoints: Type.Optional(Type.Integer({ minimum: 4, maximum: 100_000 })),
  fromStep: Type.Optional(Step),
  toStep: Type.Optional(Step),
});

/** Keys one series batch may ask for: the dashboard's run page asks for all its charts at once. */
export const MAX_SERIES_KEYS = 50;

export const SeriesBatchQuery = Type.Object({
  key: Type.Array(MetricKey, {
    minItems: 1,
    maxItems: MAX_SERIES_KEYS,
    description: `repeated: key=a&key=b (1 to ${MAX_SERIES_KEYS} keys)`,
  }),
  maxPoints: Type.Optional(Type.Integer({ minimum: 4, maximum: 100_000 })),
  fromStep: Type.Optional(Step),
  toStep: Type.Optional(Step),
});

export const CompareQuery = Type.Object({
  runIds: Type.String({ minLength: 1, description: 'comma-separated run ids (at most 20)' }),
  key: MetricKey,
  maxPoints: Type.Optional(Type.Integer({ minimum: 4, maximum: 100_000 })),
});

export const RegisterCheckpoint = Type.Object(
  {
    step: Step,
    epoch: Int32,
    path: Type.String({ minLength: 1, maxLength: 4096 }),
    sizeBytes: Int53,
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    metrics: Type.Optional(Type.Record(MetricKey, FiniteNumber, { maxProperties: 100 })),
    isBest: Type.Optional(Type.Boolean()),
    isLast: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const AppendLogs = Type.Object(
  {
    worker: Type.String({ minLength: 1, maxLength: 100 }),
    // At most 4 MB of lines per request: parsing and storing one request stays a few ms of event loop.
    lines: Type.Array(Type.String({ maxLength: 4096 }), {
      minItems: 1,
      maxItems: 1000,
      description: 'at most 1,000 lines (what one worker keeps) of at most 4,096 characters',
    }),
  },
  { additionalProperties: false },
);

export const LogsQuery = Type.Object({
  worker: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
});

export const JobListQuery = Type.Object({
  phase: Type.Optional(Type.String()),
  sort: Type.Optional(
    Type.Union([Type.Literal('name'), Type.Literal('-createdAt'), Type.Literal('createdAt')]),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  offset: Type.Optional(Int32),
});

/** A TrainingJob without apiVersion and kind (filled in); its spec is checked by @kiln/spec. */
export const SubmitJob = Type.Object(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    metadata: Type.Object({
      name: Type.String({ minLength: 1, maxLength: 253 }),
      namespace: Type.Optional(Type.String()),
      labels: Type.Optional(Type.Record(Type.String(), Type.String())),
      annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
    }),
    spec: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);

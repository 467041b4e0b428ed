// What the API answers, in TypeBox: published in the OpenAPI document (so clients and the contract test
// can check every answer against it). Objects allow extra properties: adding a field is not a break.
import { type TSchema, Type } from '@sinclair/typebox';
import { Uuid } from './schemas.js';

export const Time = Type.String({ format: 'date-time' });
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const Int = Type.Integer();
const Json = Type.Record(Type.String(), Type.Unknown());

export const ErrorBody = Type.Object({
  statusCode: Int,
  message: Type.String(),
  error: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
});

export const Health = Type.Object({ status: Type.String() });

export const Project = Type.Object({
  id: Uuid,
  name: Type.String(),
  namespace: Type.String(),
  createdAt: Time,
});
export const Projects = Type.Array(Project);

export const TokenCreated = Type.Object({
  id: Uuid,
  token: Type.String({ description: 'the secret; shown only now' }),
  scope: Type.String(),
  expiresAt: Nullable(Time),
});
export const Tokens = Type.Array(
  Type.Object({
    id: Uuid,
    name: Type.String(),
    scope: Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('run')]),
    runId: Nullable(Uuid),
    createdAt: Time,
    expiresAt: Nullable(Time),
    revokedAt: Nullable(Time),
  }),
);

export const Run = Type.Object({
  id: Uuid,
  projectId: Uuid,
  name: Type.String(),
  status: Type.String(),
  exitReason: Nullable(Type.String()),
  hyperparams: Json,
  job: Nullable(
    Type.Object({ namespace: Nullable(Type.String()), name: Type.String(), uid: Nullable(Type.String()) }),
  ),
  sweepId: Nullable(Type.String()),
  trialId: Nullable(Type.String()),
  createdAt: Time,
  updatedAt: Time,
  startedAt: Nullable(Time),
  finishedAt: Nullable(Time),
  progress: Type.Object({
    step: Nullable(Int),
    totalSteps: Nullable(Int),
    epoch: Nullable(Int),
    etaSeconds: Nullable(Type.Number()),
    percent: Nullable(Type.Number()),
    metrics: Json,
  }),
  token: Type.Optional(Type.String({ description: 'with issueToken: the run token; shown only now' })),
});
export const Runs = Type.Object({ items: Type.Array(Run), total: Int });
export const RunEvents = Type.Array(
  Type.Object({
    id: Int,
    runId: Uuid,
    time: Time,
    type: Type.String(),
    message: Type.String(),
    data: Type.Unknown(),
  }),
);

export const Ingested = Type.Object({
  accepted: Int,
  inserted: Type.Integer({ description: 'points that were new (a retried batch inserts 0)' }),
});
export const Keys = Type.Array(Type.Object({ key: Type.String(), count: Int, lastStep: Nullable(Int) }));
const SeriesData = {
  points: Type.Array(Type.Object({ step: Int, value: Type.Number(), time: Type.Number() })),
  total: Int,
  downsampled: Type.Boolean(),
};
export const Series = Type.Object({ runId: Uuid, key: Type.String(), ...SeriesData });
export const SeriesBatch = Type.Object({
  runId: Uuid,
  series: Type.Array(Type.Object({ key: Type.String(), ...SeriesData })),
});
export const Compare = Type.Object({
  key: Type.String(),
  series: Type.Array(Type.Object({ runId: Uuid, ...SeriesData })),
});

export const Checkpoint = Type.Object({
  id: Uuid,
  runId: Uuid,
  step: Int,
  epoch: Int,
  path: Type.String(),
  sizeBytes: Int,
  sha256: Type.String(),
  metrics: Json,
  isBest: Type.Boolean(),
  isLast: Type.Boolean(),
  createdAt: Time,
});
export const Checkpoints = Type.Array(Checkpoint);

export const Appended = Type.Object({ appended: Int });
export const LogLines = Type.Array(
  Type.Object({
    id: Type.Integer({ description: 'increases with each line appended to the run' }),
    worker: Type.String(),
    time: Time,
    line: Type.String(),
  }),
);

export const TrainingJob = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  metadata: Type.Object({ name: Type.String() }),
  spec: Json,
  status: Type.Optional(Json),
});
export const Jobs = Type.Object({ items: Type.Array(TrainingJob), total: Int });
export const JobSubmitted = Type.Object({ runId: Uuid, job: TrainingJob });

/** Server-sent events: `event:` is the update's type, `data:` its JSON. */
export const EventStream = Type.String({
  description: 'text/event-stream; each event: `event: <type>` and `data: <JSON>`',
});

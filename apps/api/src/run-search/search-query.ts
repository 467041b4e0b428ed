import { Type } from '@sinclair/typebox';

const RunStatus = Type.Union(
  [
    'pending',
    'queued',
    'starting',
    'running',
    'restarting',
    'succeeded',
    'failed',
    'suspended',
    'cancelled',
  ].map((s) => Type.Literal(s)),
);

export const SearchRunsQuery = Type.Object({
  status: Type.Optional(RunStatus),
  sweepId: Type.Optional(Type.String({ maxLength: 100 })),
  name: Type.Optional(Type.String({ maxLength: 200 })),
  where: Type.Optional(
    Type.String({
      maxLength: 4000,
      description: '`;`-separated conditions, e.g. hp.lr>=0.001;metric.val/loss<0.5;hp.optimizer=adam',
    }),
  ),
  sort: Type.Optional(
    Type.String({
      maxLength: 300,
      description: 'name, status, createdAt, startedAt, step, hp.<name> or metric.<name>; - for descending',
    }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
});

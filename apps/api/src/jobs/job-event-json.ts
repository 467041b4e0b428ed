// A Kubernetes Event as the job events endpoint answers it (TypeBox schema, published in OpenAPI).
import type { CoreV1Event } from '@kubernetes/client-node';
import { Type } from '@sinclair/typebox';

const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const JobEvent = Type.Object({
  id: Type.String({ description: "the Event object's uid" }),
  type: Type.String({ description: 'Normal or Warning' }),
  reason: Type.String(),
  message: Type.String(),
  object: Type.Object({ kind: Type.String(), name: Type.String() }),
  count: Type.Integer({ description: 'how many times it happened' }),
  firstTime: Time,
  lastTime: Time,
  source: Type.String({ description: 'the component that reported it' }),
});
export const JobEvents = Type.Object({ items: Type.Array(JobEvent) });

const iso = (t: Date | string | undefined | null) => (t ? new Date(t).toISOString() : null);

export function jobEventJson(e: CoreV1Event) {
  const last = e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
  return {
    id: e.metadata.uid ?? `${e.metadata.namespace}/${e.metadata.name}`,
    type: e.type ?? 'Normal',
    reason: e.reason ?? '',
    message: e.message ?? '',
    object: { kind: e.involvedObject.kind ?? '', name: e.involvedObject.name ?? '' },
    count: e.count ?? e.series?.count ?? 1,
    firstTime: iso(e.firstTimestamp ?? e.eventTime ?? last),
    lastTime: iso(last),
    source: e.reportingComponent || e.source?.component || '',
  };
}

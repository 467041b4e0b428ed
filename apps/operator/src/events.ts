// Kubernetes Events on the TrainingJob for every phase transition (`kubectl describe tj` shows them).
// Recording never blocks or fails a reconcile: an Event is a courtesy, the status is the record.

import { API_GROUP_VERSION, TRAININGJOB_KIND, type TrainingJob } from '@kiln/spec';
import type { KubeClient } from './kube.js';
import type { Log } from './log.js';

export class EventRecorder {
  constructor(
    private readonly kube: KubeClient,
    private readonly instance: string,
    private readonly log: Log,
  ) {}

  record(job: TrainingJob, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const now = new Date();
    this.kube
      .createEvent({
        metadata: { generateName: `${job.metadata.name}.`, namespace: job.metadata.namespace },
        involvedObject: {
          apiVersion: API_GROUP_VERSION,
          kind: TRAININGJOB_KIND,
          name: job.metadata.name,
          namespace: job.metadata.namespace,
          uid: job.metadata.uid,
          resourceVersion: job.metadata.resourceVersion,
        },
        type,
        reason,
        message: message.slice(0, 1024),
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        source: { component: 'kiln-operator' },
        reportingComponent: 'kiln.dev/operator',
        reportingInstance: this.instance,
      })
      .catch((err) => this.log.warn({ err: String(err), reason }, 'could not record event'));
  }
}

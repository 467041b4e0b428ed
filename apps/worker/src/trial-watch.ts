// Trial TrainingJobs watched (list+watch, every namespace, by the sweep label): when one changes phase,
// finishes an epoch or goes away, its sweep gets a "changed" event at once, so a finished trial is
// recorded and its slot refilled without waiting for the re-scan, and a trial's new epoch value reaches
// the pruner promptly. Other status churn (worker counts, step progress) sends nothing.
import { Cache } from '@kiln/kube';
import { API_GROUP, API_VERSION, LABELS, TRAININGJOB_PLURAL } from '@kiln/spec';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';

interface TrialJob {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  status?: { phase?: string; progress?: { epoch?: number } };
}

/** What about a trial job makes its sweep worth a pass. */
const fingerprint = (j: TrialJob) => `${j.status?.phase ?? ''}/${j.status?.progress?.epoch ?? ''}`;

export class TrialWatch {
  private readonly cache: Cache<TrialJob>;
  private readonly seen = new Map<string, string>();

  constructor(kc: KubeConfig, onSweep: (sweepId: string) => void, log: Logger) {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const selector = LABELS.sweepId; // has the label, whatever its value
    const key = (j: TrialJob) => `${j.metadata.namespace}/${j.metadata.name}`;
    const notify = (j: TrialJob) => {
      const sweep = j.metadata.labels?.[LABELS.sweepId];
      if (sweep) onSweep(sweep);
    };
    const changed = (j: TrialJob) => {
      const f = fingerprint(j);
      if (this.seen.get(key(j)) === f) return;
      this.seen.set(key(j), f);
      notify(j);
    };
    this.cache = new Cache<TrialJob>(
      kc,
      `/apis/${API_GROUP}/${API_VERSION}/${TRAININGJOB_PLURAL}`,
      () =>
        custom.listClusterCustomObject({
          group: API_GROUP,
          version: API_VERSION,
          plural: TRAININGJOB_PLURAL,
          labelSelector: selector,
        }) as Promise<{ items: unknown[] }>,
      {
        onAdd: changed,
        onUpdate: changed,
        onDelete: (j) => {
          this.seen.delete(key(j));
          notify(j);
        },
      },
      log,
      selector,
    );
  }

  start(): Promise<void> {
    return this.cache.start();
  }

  stop(): Promise<void> {
    return this.cache.stop();
  }
}

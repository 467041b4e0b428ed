// Trials as TrainingJobs. Each job gets a run-scoped tracking token in `<job>-tracking` (the Secret the
// operator mounts as KILN_TRACKING_TOKEN), so the trial's Trainer records its metrics to its run.

import { isConflict, isNotFound, putSecret } from '@kiln/kube';
import {
  API_GROUP,
  API_VERSION,
  ENV,
  LABELS,
  TRACKING_SECRET_TOKEN_KEY,
  TRAININGJOB_PLURAL,
  trackingSecretName,
} from '@kiln/spec';
import {
  buildTrialJob,
  type LaunchedTrial,
  type SweepRow,
  type TrialLauncher,
  type TrialPhase,
  type TrialRow,
} from '@kiln/sweep-runner';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';

const base = { group: API_GROUP, version: API_VERSION, plural: TRAININGJOB_PLURAL };

interface JobObject {
  metadata: { name: string; uid?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status?: { phase?: string; conditions?: { type: string; status: string; message?: string }[] };
}

function phaseOf(job: JobObject): { phase: TrialPhase; message?: string } {
  const p = job.status?.phase;
  if (p === 'Succeeded') return { phase: 'succeeded' };
  if (p === 'Failed') {
    const c = job.status?.conditions?.find((x) => x.type === 'Failed' && x.status === 'True');
    return { phase: 'failed', message: c?.message ?? 'the TrainingJob failed' };
  }
  return { phase: 'running' };
}

export interface KubeLauncherOptions {
  /** Create trial jobs suspended (the dispatch benchmark). */
  suspend?: boolean;
  /** Run-scoped tracking tokens; the function returns the secret for a run (see tokens.ts). */
  issueRunToken?: (sweep: SweepRow, trial: TrialRow) => Promise<string>;
}

export class KubeLauncher implements TrialLauncher {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;

  constructor(
    kc: KubeConfig,
    private readonly opts: KubeLauncherOptions = {},
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async list(sweep: SweepRow): Promise<Map<number, LaunchedTrial>> {
    const out = (await this.custom.listNamespacedCustomObject({
      ...base,
      namespace: sweep.namespace,
      labelSelector: `${LABELS.sweepId}=${sweep.id}`,
    })) as { items: JobObject[] };
    const map = new Map<number, LaunchedTrial>();
    for (const job of out.items) {
      const n = Number(job.metadata.labels?.[LABELS.trial]);
      if (!Number.isInteger(n) || !job.metadata.uid) continue;
      map.set(n, { uid: job.metadata.uid, ...phaseOf(job) });
    }
    return map;
  }

  async start(sweep: SweepRow, trial: TrialRow): Promise<string> {
    if (this.opts.issueRunToken && trial.runId) {
      const token = await this.opts.issueRunToken(sweep, trial);
      await putSecret(this.core, sweep.namespace, trackingSecretName(trial.jobName), {
        [TRACKING_SECRET_TOKEN_KEY]: token,
        [ENV.runId]: trial.runId,
      });
    }
    try {
      const job = (await this.custom.createNamespacedCustomObject({
        ...base,
        namespace: sweep.namespace,
        body: buildTrialJob(sweep, trial, { suspend: this.opts.suspend }),
      })) as JobObject;
      return job.metadata.uid!;
    } catch (e) {
      if (!isConflict(e)) throw e;
      const job = (await this.custom.getNamespacedCustomObject({
        ...base,
        namespace: sweep.namespace,
        name: trial.jobName,
      })) as JobObject;
      if (job.metadata.labels?.[LABELS.sweepId] !== sweep.id)
        throw new Error(`a TrainingJob ${trial.jobName} that is not this sweep's already exists`);
      return job.metadata.uid!;
    }
  }

  async stop(sweep: SweepRow, trial: TrialRow): Promise<void> {
    try {
      await this.custom.deleteNamespacedCustomObject({
        ...base,
        namespace: sweep.namespace,
        name: trial.jobName,
        propagationPolicy: 'Background',
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

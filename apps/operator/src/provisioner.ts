// Capacity provisioning at run time: a cache of the operator's ProvisioningRequests (their status changes
// requeue the job), the policy of provisioning.ts applied to the API, and cleanup. Off (every method a
// no-op) where the cluster has no ProvisioningRequest CRD.
import type { TrainingJob } from '@kiln/spec';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { Decision } from './admission.js';
import { Cache } from './informer.js';
import type { KubeClient } from './kube.js';
import type { Log } from './log.js';
import {
  CLASS_ANNOTATION,
  CONSUME_ANNOTATION,
  JOB_LABEL,
  PR_CLASS,
  PR_GROUP,
  PR_PLURAL,
  PR_VERSION,
  type ProvisioningOptions,
  type ProvisioningPlan,
  type ProvisioningRequest,
  planProvisioning,
  requestsDone,
} from './provisioning.js';
import {
  createProvisioning,
  deleteProvisioning,
  listProvisioningRequests,
  PROVISIONING_SELECTOR,
  provisioningApiAvailable,
} from './provisioning-requests.js';

export class Provisioner {
  private cache?: Cache<ProvisioningRequest>;
  enabled = false;

  constructor(
    private readonly config: KubeConfig,
    private readonly kube: KubeClient,
    private readonly log: Log,
    private readonly requeue: (key: string) => void,
    private readonly options?: ProvisioningOptions,
  ) {}

  /** Turns provisioning on if the API serves ProvisioningRequests; fills the cache. */
  async start(): Promise<void> {
    const { available, why } = await provisioningApiAvailable(this.kube);
    this.enabled = available;
    this.log.info({ enabled: available, why }, 'capacity provisioning through ProvisioningRequests');
    if (!this.enabled) return;
    const requeue = (pr: ProvisioningRequest) => {
      const job = pr.metadata.labels?.[JOB_LABEL];
      if (job) this.requeue(`${pr.metadata.namespace}/${job}`);
    };
    this.cache = new Cache<ProvisioningRequest>(
      this.config,
      `/apis/${PR_GROUP}/${PR_VERSION}/${PR_PLURAL}`,
      () => listProvisioningRequests(this.kube),
      { onAdd: requeue, onUpdate: requeue, onDelete: requeue },
      this.log,
      PROVISIONING_SELECTOR,
    );
    await this.cache.start();
    await this.cache.synced;
  }

  async stop(): Promise<void> {
    await this.cache?.stop();
  }

  requestsOf(job: TrainingJob): ProvisioningRequest[] {
    if (!this.cache) return [];
    return this.cache
      .list(job.metadata.namespace)
      .filter((pr) => pr.metadata.labels?.[JOB_LABEL] === job.metadata.name);
  }

  /**
   * For a waiting job: what to ask for and the decision to act on (undefined when provisioning is off).
   * `workers`: the gang size to ask for (elastic: the minimum).
   */
  plan(
    job: TrainingJob,
    decision: Decision | undefined,
    workers: number,
    now: number,
  ): ProvisioningPlan | undefined {
    if (!this.enabled) return undefined;
    return planProvisioning(job, decision, workers, this.requestsOf(job), now, this.options);
  }

  /** For any job: its requests, once they have served (pods bound) or are no longer needed. */
  cleanup(job: TrainingJob, podsBound: boolean): ProvisioningPlan | undefined {
    if (!this.enabled) return undefined;
    const requests = this.requestsOf(job);
    if (requests.length === 0 || !requestsDone(job, podsBound)) return undefined;
    return { remove: requests.map((r) => r.metadata.name) };
  }

  /** The annotations admitted pods carry to consume the request the plan admitted them on. */
  static podAnnotations(plan: ProvisioningPlan | undefined): Record<string, string> | undefined {
    return plan?.consume ? { [CONSUME_ANNOTATION]: plan.consume, [CLASS_ANNOTATION]: PR_CLASS } : undefined;
  }

  /** Creates the plan's request (over a template built from `worker`) and deletes the ones it drops. */
  async apply(job: TrainingJob, plan: ProvisioningPlan, worker: () => V1Pod): Promise<void> {
    const ns = job.metadata.namespace!;
    if (plan.create) {
      await createProvisioning(
        this.kube,
        job,
        worker(),
        plan.create.name,
        plan.create.workers,
        plan.create.attempt,
      );
      this.log.info({ job: `${ns}/${job.metadata.name}`, request: plan.create.name }, 'asked for capacity');
    }
    for (const name of plan.remove) await deleteProvisioning(this.kube, ns, name);
  }
}

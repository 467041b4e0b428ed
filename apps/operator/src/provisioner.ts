// Capacity provisioning at run time: a cache of the operator's ProvisioningRequests (their status changes
// requeue the job), the policy of provisioning.ts applied to the API, and cleanup. Off (every method a
// no-op) where the cluster has no ProvisioningRequest CRD.
import { Cache } from '@kiln/kube';
import type { TrainingJob } from '@kiln/spec';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { Decision } from './admission.js';
import type { KubeClient } from './kube.js';
import type { Log } from './log.js';
import {
  CLASS_ANNOTATION,
  CONSUME_ANNOTATION,
  type GrowthPlan,
  gangProvisioned,
  growingTo,
  JOB_LABEL,
  PR_CLASS,
  PR_GROUP,
  PR_PLURAL,
  PR_VERSION,
  type ProvisioningOptions,
  type ProvisioningPlan,
  type ProvisioningRequest,
  planGrowth,
  planProvisioning,
  requestDone,
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

  /**
   * For a running elastic job below its maximum with no room to grow: what to ask for to grow
   * (undefined when provisioning is off). `canGrow`: past its cool-off, and no job is waiting.
   */
  planGrowth(
    job: TrainingJob,
    world: number,
    maxWorkers: number,
    canGrow: boolean,
    now: number,
  ): GrowthPlan | undefined {
    if (!this.enabled) return undefined;
    return planGrowth(job, world, maxWorkers, canGrow, this.requestsOf(job), now, this.options);
  }

  /** Whether the autoscaler has provisioned capacity for this waiting job's gang (admission puts it first). */
  provisioned(job: TrainingJob): boolean {
    return this.enabled && gangProvisioned(this.requestsOf(job), Date.now(), job, this.options);
  }

  /** The least size a running elastic job with a grow request relaunches at (see growingTo). */
  growingTo(job: TrainingJob, world: number, now: number): number | undefined {
    return this.enabled ? growingTo(job, this.requestsOf(job), world, now, this.options) : undefined;
  }

  /**
   * For any job: its requests that have served (pods bound) or are no longer needed. `world`: the gang
   * size its pods were launched with.
   */
  cleanup(job: TrainingJob, podsBound: boolean, world: number | undefined): ProvisioningPlan | undefined {
    if (!this.enabled) return undefined;
    const done = this.requestsOf(job).filter(
      (r) => !r.metadata.deletionTimestamp && requestDone(job, r, podsBound, world),
    );
    return done.length ? { remove: done.map((r) => r.metadata.name) } : undefined;
  }

  /** The annotations admitted pods carry to consume the request the plan admitted them on. */
  static podAnnotations(plan: ProvisioningPlan | undefined): Record<string, string> | undefined {
    return plan?.consume ? { [CONSUME_ANNOTATION]: plan.consume, [CLASS_ANNOTATION]: PR_CLASS } : undefined;
  }

  /** Creates the plan's request (over a template built from `worker`) and deletes the ones it drops. */
  async apply(job: TrainingJob, plan: ProvisioningPlan, worker: () => V1Pod): Promise<void> {
    const ns = job.metadata.namespace!;
    if (plan.create) {
      await createProvisioning(this.kube, job, worker(), plan.create);
      this.log.info(
        { job: `${ns}/${job.metadata.name}`, request: plan.create.name, purpose: plan.create.purpose },
        'asked for capacity',
      );
    }
    for (const name of plan.remove) await deleteProvisioning(this.kube, ns, name);
  }
}

// The operator's few calls to the Kubernetes API, through @kubernetes/client-node, each counted in the
// Prometheus counters (the benchmark reports API requests per job from these counters).

import { isConflict, isNotFound } from '@kiln/kube';
import { API_GROUP, API_VERSION, TRAININGJOB_PLURAL, type TrainingJob } from '@kiln/spec';
import {
  CoordinationV1Api,
  CoreV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  SchedulingV1Api,
  setHeaderOptions,
  type V1Lease,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import type { Prometheus } from './prometheus.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class KubeClient {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly coordination: CoordinationV1Api;
  readonly scheduling: SchedulingV1Api;

  constructor(
    readonly config: KubeConfig,
    private readonly prometheus: Prometheus,
  ) {
    this.core = config.makeApiClient(CoreV1Api);
    this.custom = config.makeApiClient(CustomObjectsApi);
    this.coordination = config.makeApiClient(CoordinationV1Api);
    this.scheduling = config.makeApiClient(SchedulingV1Api);
  }

  count(verb: string, resource: string): void {
    this.prometheus.apiRequests.inc({ verb, resource });
  }

  listJobs(): Promise<{ items: TrainingJob[]; metadata?: { resourceVersion?: string } }> {
    this.count('list', 'trainingjobs');
    return this.custom.listClusterCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      plural: TRAININGJOB_PLURAL,
    });
  }

  listPods(labelSelector?: string) {
    this.count('list', 'pods');
    return this.core.listPodForAllNamespaces({ labelSelector });
  }

  listServices(labelSelector: string) {
    this.count('list', 'services');
    return this.core.listServiceForAllNamespaces({ labelSelector });
  }

  listPriorityClasses() {
    this.count('list', 'priorityclasses');
    return this.scheduling.listPriorityClass();
  }

  listNodes() {
    this.count('list', 'nodes');
    return this.core.listNode();
  }

  /** Merge-patches the status subresource; with `resourceVersion` the write fails (409) if the job moved on. */
  patchJobStatus(
    namespace: string,
    name: string,
    status: Record<string, unknown>,
    resourceVersion?: string,
  ): Promise<TrainingJob> {
    this.count('patch', 'trainingjobs/status');
    const body: Record<string, unknown> = { status };
    if (resourceVersion) body.metadata = { resourceVersion };
    return this.custom.patchNamespacedCustomObjectStatus(
      { group: API_GROUP, version: API_VERSION, plural: TRAININGJOB_PLURAL, namespace, name, body },
      mergePatch,
    );
  }

  async deleteJob(namespace: string, name: string, uid: string): Promise<void> {
    this.count('delete', 'trainingjobs');
    try {
      await this.custom.deleteNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        plural: TRAININGJOB_PLURAL,
        namespace,
        name,
        propagationPolicy: 'Background',
        body: { preconditions: { uid } },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Creates the pod; false when one of that name already exists. */
  async createPod(pod: V1Pod): Promise<boolean> {
    this.count('create', 'pods');
    try {
      await this.core.createNamespacedPod({ namespace: pod.metadata!.namespace!, body: pod });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /** Deletes the pod if it is still the one with `uid` (a new pod of the same name is left alone). */
  async deletePod(namespace: string, name: string, uid?: string, gracePeriodSeconds?: number): Promise<void> {
    this.count('delete', 'pods');
    try {
      await this.core.deleteNamespacedPod({
        namespace,
        name,
        gracePeriodSeconds,
        body: uid ? { preconditions: { uid } } : undefined,
      });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  async createService(service: V1Service): Promise<void> {
    this.count('create', 'services');
    try {
      await this.core.createNamespacedService({ namespace: service.metadata!.namespace!, body: service });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }

  async createEvent(event: CoreV1Event): Promise<void> {
    this.count('create', 'events');
    await this.core.createNamespacedEvent({ namespace: event.metadata!.namespace!, body: event });
  }

  async readLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    this.count('get', 'leases');
    try {
      return await this.coordination.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  createLease(lease: V1Lease): Promise<V1Lease> {
    this.count('create', 'leases');
    return this.coordination.createNamespacedLease({ namespace: lease.metadata!.namespace!, body: lease });
  }

  replaceLease(lease: V1Lease): Promise<V1Lease> {
    this.count('update', 'leases');
    return this.coordination.replaceNamespacedLease({
      namespace: lease.metadata!.namespace!,
      name: lease.metadata!.name!,
      body: lease,
    });
  }
}

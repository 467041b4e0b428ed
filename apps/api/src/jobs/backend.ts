// TrainingJob resources in Kubernetes, behind a small interface so the API can run without a cluster
// (job endpoints then answer 503) and so the cluster-facing code is in one file.

import type { Writable } from 'node:stream';
import { isNotFound, putSecret } from '@kiln/kube';
import { API_GROUP, API_VERSION, TRAININGJOB_PLURAL } from '@kiln/spec';
import {
  CoreV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  KubeConfig,
  Log,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';

export interface TrainingJobObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export type JobWatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; job: TrainingJobObject };

export interface JobBackend {
  create(namespace: string, job: TrainingJobObject): Promise<TrainingJobObject>;
  list(namespace: string): Promise<TrainingJobObject[]>;
  get(namespace: string, name: string): Promise<TrainingJobObject | null>;
  /** False when there was nothing to delete. */
  delete(namespace: string, name: string): Promise<boolean>;
  setSuspended(namespace: string, name: string, suspend: boolean): Promise<TrainingJobObject | null>;
  /** A Secret holding the run's tracking token, owned by nothing (deleted with the namespace or by TTL). */
  putSecret(namespace: string, name: string, data: Record<string, string>): Promise<void>;
  /** Watches every TrainingJob; returns a function that stops watching. */
  watch(onEvent: (e: JobWatchEvent) => void, onError: (e: unknown) => void): Promise<() => void>;
  /**
   * Streams a pod's log (its one container) into `out`; with `follow`, until the pod ends or the
   * returned controller aborts. Null when the pod does not exist.
   */
  podLog(
    namespace: string,
    pod: string,
    out: Writable,
    opts: { follow: boolean; tailLines?: number },
  ): Promise<AbortController | null>;
  /**
   * Kubernetes Events in a namespace about the objects of one kind named `name` (exactly, or as the
   * function accepts: the apiserver selects by kind, the names are filtered here).
   */
  events(namespace: string, kind: string, name: string | ((name: string) => boolean)): Promise<CoreV1Event[]>;
}

/** Events read per kind in one request; Kubernetes keeps events for an hour by default. */
const EVENTS_LIMIT = 1000;

export class KubeJobBackend implements JobBackend {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly base = { group: API_GROUP, version: API_VERSION, plural: TRAININGJOB_PLURAL };

  constructor(private readonly kc: KubeConfig) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** From a kubeconfig path, or in-cluster / ~/.kube/config when '' — null when none is found. */
  static fromConfig(kubeconfig: string): KubeJobBackend | null {
    if (kubeconfig === 'none') return null;
    const kc = new KubeConfig();
    try {
      if (kubeconfig) kc.loadFromFile(kubeconfig);
      else kc.loadFromDefault();
    } catch {
      return null;
    }
    return kc.getCurrentCluster() ? new KubeJobBackend(kc) : null;
  }

  async create(namespace: string, job: TrainingJobObject) {
    return (await this.custom.createNamespacedCustomObject({
      ...this.base,
      namespace,
      body: job,
    })) as TrainingJobObject;
  }

  async list(namespace: string) {
    const out = (await this.custom.listNamespacedCustomObject({ ...this.base, namespace })) as {
      items: TrainingJobObject[];
    };
    return out.items;
  }

  async get(namespace: string, name: string) {
    try {
      return (await this.custom.getNamespacedCustomObject({
        ...this.base,
        namespace,
        name,
      })) as TrainingJobObject;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async delete(namespace: string, name: string) {
    try {
      await this.custom.deleteNamespacedCustomObject({
        ...this.base,
        namespace,
        name,
        propagationPolicy: 'Background',
      });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async setSuspended(namespace: string, name: string, suspend: boolean) {
    try {
      return (await this.custom.patchNamespacedCustomObject(
        { ...this.base, namespace, name, body: { spec: { runPolicy: { suspend } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as TrainingJobObject;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  putSecret(namespace: string, name: string, data: Record<string, string>) {
    return putSecret(this.core, namespace, name, data);
  }

  async podLog(namespace: string, pod: string, out: Writable, opts: { follow: boolean; tailLines?: number }) {
    let container: string | undefined;
    try {
      const p = await this.core.readNamespacedPod({ name: pod, namespace });
      container = p.spec?.containers[0]?.name;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
    if (!container) return null;
    return new Log(this.kc).log(namespace, pod, container, out, {
      follow: opts.follow,
      ...(opts.tailLines !== undefined && { tailLines: opts.tailLines }),
    });
  }

  async events(namespace: string, kind: string, name: string | ((name: string) => boolean)) {
    const exact = typeof name === 'string' ? `,involvedObject.name=${name}` : '';
    const list = await this.core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.kind=${kind}${exact}`,
      limit: EVENTS_LIMIT,
    });
    return typeof name === 'string'
      ? list.items
      : list.items.filter((e) => name(e.involvedObject.name ?? ''));
  }

  async watch(onEvent: (e: JobWatchEvent) => void, onError: (e: unknown) => void) {
    const w = new Watch(this.kc);
    const req = await w.watch(
      `/apis/${API_GROUP}/${API_VERSION}/${TRAININGJOB_PLURAL}`,
      {},
      (type, obj) => {
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')
          onEvent({ type, job: obj as TrainingJobObject });
      },
      (err) => {
        if (err) onError(err);
      },
    );
    return () => req.abort();
  }
}

// The API side of capacity provisioning: a job's PodTemplate and ProvisioningRequest (owned by the job,
// so deleting the job collects them), creating and deleting them, and whether the cluster has the
// ProvisioningRequest API at all (autoscaling is on only where the CRD is installed).

import { isNotFound, statusCode } from '@kiln/kube';
import { LABELS, type TrainingJob } from '@kiln/spec';
import type { V1Pod, V1PodTemplate } from '@kubernetes/client-node';
import { MANAGER, ownerReference } from './children.js';
import type { KubeClient } from './kube.js';
import {
  ATTEMPT_ANNOTATION,
  GROW_FROM_ANNOTATION,
  JOB_LABEL,
  PR_CLASS,
  PR_GROUP,
  PR_PLURAL,
  PR_VERSION,
  type ProvisioningPlan,
  type ProvisioningRequest,
  PURPOSE_ANNOTATION,
} from './provisioning.js';

type Create = NonNullable<ProvisioningPlan['create']>;

const labels = (job: TrainingJob) => ({ [JOB_LABEL]: job.metadata.name, [LABELS.managedBy]: MANAGER });
export const PROVISIONING_SELECTOR = `${LABELS.managedBy}=${MANAGER},${JOB_LABEL}`;

/** The workers' pod template: a worker pod's spec without what names one particular worker. */
export function buildPodTemplate(job: TrainingJob, name: string, worker: V1Pod): V1PodTemplate {
  const { hostname: _h, subdomain: _s, ...spec } = worker.spec!;
  return {
    metadata: {
      name,
      namespace: job.metadata.namespace,
      labels: labels(job),
      ownerReferences: [ownerReference(job)],
    },
    template: { metadata: { labels: worker.metadata?.labels }, spec },
  };
}

export function buildProvisioningRequest(
  job: TrainingJob,
  { name, workers, attempt, purpose, from }: Create,
): ProvisioningRequest & { apiVersion: string; kind: string } {
  const annotations: Record<string, string> = {
    [ATTEMPT_ANNOTATION]: String(attempt),
    [PURPOSE_ANNOTATION]: purpose,
  };
  if (from !== undefined) annotations[GROW_FROM_ANNOTATION] = String(from);
  return {
    apiVersion: `${PR_GROUP}/${PR_VERSION}`,
    kind: 'ProvisioningRequest',
    metadata: {
      name,
      namespace: job.metadata.namespace,
      labels: labels(job),
      annotations,
      ownerReferences: [ownerReference(job)],
    } as ProvisioningRequest['metadata'],
    spec: { provisioningClassName: PR_CLASS, podSets: [{ podTemplateRef: { name }, count: workers }] },
  };
}

/**
 * Whether the operator can use ProvisioningRequests: the CRD is installed (else 404) and its role may
 * list them (else 403, e.g. RBAC from before autoscaling); `why` says what turned it off.
 */
export async function provisioningApiAvailable(
  kube: KubeClient,
): Promise<{ available: boolean; why: string }> {
  try {
    await kube.custom.listClusterCustomObject({
      group: PR_GROUP,
      version: PR_VERSION,
      plural: PR_PLURAL,
      limit: 1,
    });
    return { available: true, why: `${PR_PLURAL}.${PR_GROUP} is served` };
  } catch (err) {
    if (isNotFound(err)) return { available: false, why: `no ${PR_PLURAL}.${PR_GROUP} CRD in the cluster` };
    if (statusCode(err) === 403) {
      return {
        available: false,
        why: `the operator may not list ${PR_PLURAL}.${PR_GROUP} (see deploy/operator/rbac.yaml)`,
      };
    }
    throw err;
  }
}

export function listProvisioningRequests(kube: KubeClient) {
  kube.count('list', PR_PLURAL);
  return kube.custom.listClusterCustomObject({
    group: PR_GROUP,
    version: PR_VERSION,
    plural: PR_PLURAL,
    labelSelector: PROVISIONING_SELECTOR,
  }) as Promise<{ items: ProvisioningRequest[] }>;
}

/** The template first, then the request that names it; an existing one (same name) is left as it is. */
export async function createProvisioning(
  kube: KubeClient,
  job: TrainingJob,
  worker: V1Pod,
  create: Create,
): Promise<void> {
  const { name } = create;
  const namespace = job.metadata.namespace!;
  kube.count('create', 'podtemplates');
  try {
    await kube.core.createNamespacedPodTemplate({ namespace, body: buildPodTemplate(job, name, worker) });
  } catch (err) {
    if (statusCode(err) !== 409) throw err;
  }
  kube.count('create', PR_PLURAL);
  try {
    await kube.custom.createNamespacedCustomObject({
      group: PR_GROUP,
      version: PR_VERSION,
      plural: PR_PLURAL,
      namespace,
      body: buildProvisioningRequest(job, create),
    });
  } catch (err) {
    if (statusCode(err) !== 409) throw err;
  }
}

/**
 * The template first, then the request: a crash in between leaves the request (still listed, so the
 * next pass deletes it), never an orphaned template.
 */
export async function deleteProvisioning(kube: KubeClient, namespace: string, name: string): Promise<void> {
  kube.count('delete', 'podtemplates');
  try {
    await kube.core.deleteNamespacedPodTemplate({ namespace, name });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  kube.count('delete', PR_PLURAL);
  try {
    await kube.custom.deleteNamespacedCustomObject({
      group: PR_GROUP,
      version: PR_VERSION,
      plural: PR_PLURAL,
      namespace,
      name,
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

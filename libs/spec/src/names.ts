// Names derived from a job's name. Kubernetes limits a label (a pod's hostname, a Service name) to 63
// characters of DNS-1035, so a job name must leave room for the longest worker pod name.

import { API_GROUP_VERSION, TRAININGJOB_KIND } from './constants.js';

export const DNS1035_LABEL_PATTERN = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
export const DNS1123_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const DNS_LABEL_MAX = 63;
export const WORKER_INFIX = '-worker-';

/** Anything with a job's name and, where known, its namespace: a TrainingJob or just its metadata. */
export type JobRef =
  | { metadata: { name: string; namespace?: string } }
  | { name: string; namespace?: string };

function refName(job: JobRef): { name: string; namespace?: string } {
  return 'metadata' in job ? job.metadata : job;
}

/** `<job>-worker-<index>`: the pod name and hostname of worker `index`. */
export function workerName(job: JobRef | string, index: number): string {
  if (!Number.isInteger(index) || index < 0) {
    throw new RangeError(`worker index must be an integer ≥ 0, got ${index}`);
  }
  const name = typeof job === 'string' ? job : refName(job).name;
  return `${name}${WORKER_INFIX}${index}`;
}

/** The job's headless Service, which gives each worker a stable DNS name. */
export function serviceName(job: JobRef | string): string {
  return typeof job === 'string' ? job : refName(job).name;
}

/**
 * The DNS name of the job's headless Service, `<job>.<namespace>.svc`; with `index`, that worker's
 * name through the Service, `<job>-worker-<index>.<job>.<namespace>.svc` (MASTER_ADDR is index 0).
 */
export function jobDnsName(job: JobRef, index?: number): string {
  const { name, namespace = 'default' } = refName(job);
  const service = `${name}.${namespace}.svc`;
  return index === undefined ? service : `${workerName(name, index)}.${service}`;
}

/** MASTER_ADDR: rank 0's stable DNS name. */
export function masterAddr(job: JobRef): string {
  return jobDnsName(job, 0);
}

/** The most worker pods a spec can ever run: `elastic.maxWorkers` when elastic, else `workers`. */
export function maxWorkerCount(spec: { workers?: number; elastic?: { maxWorkers: number } }): number {
  return spec.elastic?.maxWorkers ?? spec.workers ?? 1;
}

/** The longest job name whose worker pod names still fit a DNS label, for a given worker count. */
export function maxJobNameLength(workerCount: number): number {
  return DNS_LABEL_MAX - WORKER_INFIX.length - String(Math.max(0, workerCount - 1)).length;
}

/** `apiVersion`/`kind` pair for objects the platform builds in code. */
export const TRAININGJOB_TYPE_META = { apiVersion: API_GROUP_VERSION, kind: TRAININGJOB_KIND } as const;

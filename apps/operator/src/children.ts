// The objects the operator creates for a TrainingJob: one headless Service (stable DNS names for the
// workers) and one Pod per worker, `<job>-worker-<i>`, with the environment contract of ARCHITECTURE.md.

import {
  API_GROUP_VERSION,
  DEFAULT_MASTER_PORT,
  ENV,
  LABELS,
  masterAddr,
  RESUME_AUTO,
  serviceName,
  TRACKING_SECRET_TOKEN_KEY,
  TRAININGJOB_KIND,
  type TrainingJob,
  trackingSecretName,
  workerName,
} from '@kiln/spec';
import type {
  V1EnvVar,
  V1OwnerReference,
  V1Pod,
  V1ResourceRequirements,
  V1Service,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { SAFE_TO_EVICT_ANNOTATION } from './provisioning.js';

/** Labels on worker pods beyond those in @kiln/spec: the gang's size and which launch a pod belongs to. */
export const WORLD_LABEL = 'kiln.dev/workers';
export const RESTART_LABEL = 'kiln.dev/restart';
export const MANAGER = 'kiln-operator';
export const CONTAINER_NAME = 'trainer';
const CHECKPOINT_VOLUME = 'checkpoints';

export interface ChildOptions {
  /** Where checkpoints live inside a worker: the claim's mount point, or a host path without a claim. */
  checkpointRoot: string;
  masterPort: number;
  progressPort: number;
  trackingUrl?: string;
}

export const defaultChildOptions: ChildOptions = {
  checkpointRoot: '/kiln/checkpoints',
  masterPort: DEFAULT_MASTER_PORT,
  progressPort: DEFAULT_MASTER_PORT + 1,
};

export function ownerReference(job: TrainingJob): V1OwnerReference {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: TRAININGJOB_KIND,
    name: job.metadata.name,
    uid: job.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The run the job records into: the status's, else the label the API or sweep worker set at creation. */
function jobRunId(job: TrainingJob): string | undefined {
  return job.status?.runId ?? job.metadata.labels?.[LABELS.runId];
}

function jobLabels(job: TrainingJob): Record<string, string> {
  const labels: Record<string, string> = { [LABELS.jobName]: job.metadata.name, [LABELS.managedBy]: MANAGER };
  const runId = jobRunId(job);
  if (runId) labels[LABELS.runId] = runId;
  return labels;
}

export function buildService(job: TrainingJob, options: ChildOptions): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: serviceName(job),
      namespace: job.metadata.namespace,
      labels: jobLabels(job),
      ownerReferences: [ownerReference(job)],
    },
    spec: {
      clusterIP: 'None',
      // Workers resolve each other before they are Ready: the rendezvous happens during startup.
      publishNotReadyAddresses: true,
      selector: { [LABELS.jobName]: job.metadata.name },
      ports: [{ name: 'rendezvous', port: options.masterPort, targetPort: options.masterPort }],
    },
  };
}

/** The job's checkpoint directory as seen by its workers. */
export function checkpointDir(job: TrainingJob, options: ChildOptions): string {
  return `${options.checkpointRoot}/${job.metadata.namespace}/${job.metadata.name}`;
}

export interface WorkerLaunch {
  index: number;
  /** Worker pods in this launch of the gang. */
  workers: number;
  /** status.restarts at launch; pods of an earlier launch are never mixed with these. */
  restart: number;
  /** Whether the Trainer should resume from the last checkpoint (any launch after the first). */
  resume: boolean;
  /** More pod annotations (e.g. consuming the ProvisioningRequest the gang was admitted on). */
  annotations?: Record<string, string>;
}

/** Pods carry SAFE_TO_EVICT_ANNOTATION=false: CA's scale-down never evicts a gang member (losing one restarts the gang). */
export function buildWorkerPod(job: TrainingJob, launch: WorkerLaunch, options: ChildOptions): V1Pod {
  const spec = job.spec;
  const procs = spec.procsPerWorker ?? 1;
  const name = workerName(job, launch.index);
  const namespace = job.metadata.namespace ?? 'default';
  const contract: V1EnvVar[] = [
    { name: ENV.masterAddr, value: masterAddr(job) },
    { name: ENV.masterPort, value: String(options.masterPort) },
    { name: ENV.worldSize, value: String(launch.workers * procs) },
    // The pod's first rank; a launcher running procsPerWorker processes adds LOCAL_RANK to it.
    { name: ENV.rank, value: String(launch.index * procs) },
    { name: ENV.localRank, value: '0' },
    { name: ENV.nodeRank, value: String(launch.index) },
    { name: ENV.localWorldSize, value: String(procs) },
    { name: ENV.runId, value: jobRunId(job) ?? job.metadata.uid ?? '' },
    { name: ENV.job, value: job.metadata.name },
    { name: ENV.namespace, value: namespace },
    { name: ENV.hparams, value: JSON.stringify(spec.hyperparameters ?? {}) },
    { name: ENV.checkpointDir, value: checkpointDir(job, options) },
    { name: ENV.progressPort, value: String(options.progressPort) },
    { name: ENV.podIP, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    // Minted by the API for this run only; optional so jobs created without the API still start.
    {
      name: ENV.trackingToken,
      valueFrom: {
        secretKeyRef: {
          name: trackingSecretName(job.metadata.name),
          key: TRACKING_SECRET_TOKEN_KEY,
          optional: true,
        },
      },
    },
  ];
  if (launch.resume) contract.push({ name: ENV.resume, value: RESUME_AUTO });
  // Only a job with a run (made by the API or the sweep worker, which also write its token's Secret) is
  // recorded: a job applied with kubectl has no token, and the Trainer refuses a URL without one.
  if (options.trackingUrl && jobRunId(job))
    contract.push({ name: ENV.trackingUrl, value: options.trackingUrl });

  const volumes: V1Volume[] = [];
  const volumeMounts: V1VolumeMount[] = [];
  if (spec.checkpoint?.volumeClaim) {
    volumes.push({
      name: CHECKPOINT_VOLUME,
      persistentVolumeClaim: { claimName: spec.checkpoint.volumeClaim },
    });
    volumeMounts.push({ name: CHECKPOINT_VOLUME, mountPath: options.checkpointRoot });
  }
  const scheduling = spec.scheduling;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels: {
        ...jobLabels(job),
        [LABELS.replicaIndex]: String(launch.index),
        [WORLD_LABEL]: String(launch.workers),
        [RESTART_LABEL]: String(launch.restart),
      },
      annotations: { [SAFE_TO_EVICT_ANNOTATION]: 'false', ...launch.annotations },
      ownerReferences: [ownerReference(job)],
    },
    spec: {
      hostname: name,
      subdomain: serviceName(job),
      // The operator restarts the whole gang itself; a kubelet restarting one rank would hang the rest.
      restartPolicy: 'Never',
      nodeSelector:
        scheduling?.nodeSelector && Object.keys(scheduling.nodeSelector).length
          ? scheduling.nodeSelector
          : undefined,
      tolerations: scheduling?.tolerations?.length ? scheduling.tolerations : undefined,
      priorityClassName: scheduling?.priorityClassName || undefined,
      volumes: volumes.length ? volumes : undefined,
      containers: [
        {
          name: CONTAINER_NAME,
          image: spec.image,
          command: spec.command,
          args: spec.args?.length ? spec.args : undefined,
          env: [...((spec.env ?? []) as V1EnvVar[]), ...contract],
          resources: spec.resources as V1ResourceRequirements,
          volumeMounts: volumeMounts.length ? volumeMounts : undefined,
          ports: [{ name: 'rendezvous', containerPort: options.masterPort }],
        },
      ],
    },
  };
}

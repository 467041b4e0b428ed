// Wires the caches, the work queue, the reconciler, leader election and the health server together.

import { Cache } from '@kiln/kube';
import {
  API_GROUP,
  API_VERSION,
  LABELS,
  serviceName,
  TRAININGJOB_KIND,
  TRAININGJOB_PLURAL,
  type TrainingJob,
} from '@kiln/spec';
import {
  KubeConfig,
  type V1Node,
  type V1ObjectMeta,
  type V1Pod,
  type V1PriorityClass,
  type V1Service,
} from '@kubernetes/client-node';
import { isActive, isWaiting, keyOf } from './admission.js';
import { defaultChildOptions, MANAGER } from './children.js';
import { EventRecorder } from './events.js';
import { startHealthServer } from './health.js';
import { KubeClient } from './kube.js';
import { LeaderElector } from './leader.js';
import { createLog, type Log } from './log.js';
import { Prometheus } from './prometheus.js';
import { Provisioner } from './provisioner.js';
import { type ReconcileContext, Reconciler, type ReconcilerOptions } from './reconcile.js';
import { WorkQueue } from './workqueue.js';

export interface OperatorOptions extends ReconcilerOptions {
  kubeconfig?: KubeConfig;
  /** Parallel reconciles (different jobs; one job is never reconciled twice at once). */
  concurrency: number;
  healthPort: number;
  healthHost: string;
  leaseNamespace: string;
  leaseName: string;
  leaseDurationSeconds: number;
  leaseRetryPeriodMs: number;
  identity?: string;
  /** the operator's diagnostic log (pino); default: JSON lines on stdout */
  logger?: Log;
  /** Called when the Lease is lost; by default the process exits so a fresh replica takes over. */
  onLeadershipLost?: () => void;
}

export const defaultOperatorOptions: OperatorOptions = {
  ...defaultChildOptions,
  restartBackoffMs: 10_000,
  maxRestartBackoffMs: 300_000,
  progressIntervalMs: 10_000,
  elasticCooldownMs: 60_000,
  podGracePeriodSeconds: 30,
  concurrency: 4,
  healthPort: 8081,
  healthHost: '0.0.0.0',
  leaseNamespace: 'kiln-system',
  leaseName: 'kiln-operator',
  leaseDurationSeconds: 15,
  leaseRetryPeriodMs: 2_000,
};

const rvNum = (o: { metadata?: { resourceVersion?: string } } | undefined) => {
  try {
    return BigInt(o?.metadata?.resourceVersion ?? '0');
  } catch {
    return 0n;
  }
};

const unschedulable = (pod: V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False') === true;

function ownerKey(child: { metadata?: V1ObjectMeta }): string | undefined {
  const owner = child.metadata?.ownerReferences?.find((o) => o.controller && o.kind === TRAININGJOB_KIND);
  return owner ? `${child.metadata!.namespace}/${owner.name}` : undefined;
}

export class Operator {
  readonly prometheus = new Prometheus();
  readonly log: Log;
  readonly kube: KubeClient;
  readonly queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 60_000 });
  readonly jobs: Cache<TrainingJob>;
  readonly pods: Cache<V1Pod>;
  readonly nodes: Cache<V1Node>;
  /** Only the operator's own Services: one deleted by someone else is noticed and made again. */
  readonly services: Cache<V1Service>;
  readonly priorityClasses: Cache<V1PriorityClass>;
  readonly leader: LeaderElector;
  readonly provisioner: Provisioner;
  private readonly reconciler: Reconciler;
  private readonly overlay = new Map<string, TrainingJob>();
  private readonly reservations = new Map<string, number>();
  private readonly podIndex = new Map<string, Set<string>>();
  private readonly nodeSignature = new Map<string, string>();
  private readonly failedAt = new Map<string, number>();
  /** Jobs that had a pod the scheduler could not place (pruned once they leave Starting). */
  private readonly unplaced = new Set<string>();
  /** Jobs last seen Starting or Running. */
  private readonly activeJobs = new Set<string>();
  private synced = false;
  private stopping = false;
  private workers: Promise<void>[] = [];
  private health?: { close(): void };
  healthPort = 0;

  constructor(private readonly options: OperatorOptions) {
    this.log = options.logger ?? createLog();
    const kc = options.kubeconfig ?? new KubeConfig();
    if (!options.kubeconfig) kc.loadFromDefault();
    this.kube = new KubeClient(kc, this.prometheus);
    this.jobs = new Cache<TrainingJob>(
      kc,
      `/apis/${API_GROUP}/${API_VERSION}/${TRAININGJOB_PLURAL}`,
      () => this.kube.listJobs(),
      {
        onAdd: (j) => {
          this.queue.add(keyOf(j));
          if (isActive(j)) this.activeJobs.add(keyOf(j));
        },
        onUpdate: (j) => {
          this.queue.add(keyOf(j));
          // A job leaving Starting/Running gives back the room admission kept for it, even where its
          // pods finished earlier: the jobs waiting get another look.
          if (isActive(j)) this.activeJobs.add(keyOf(j));
          else if (this.activeJobs.delete(keyOf(j))) this.capacityChanged();
        },
        onDelete: (j) => {
          this.queue.add(keyOf(j));
          this.activeJobs.delete(keyOf(j));
          this.capacityChanged();
        },
      },
      this.log,
    );
    this.pods = new Cache<V1Pod>(
      kc,
      '/api/v1/pods',
      () => this.kube.listPods(),
      {
        onAdd: (p) => this.podChanged(p, false),
        onUpdate: (p) => this.podChanged(p, false),
        onDelete: (p) => this.podChanged(p, true),
      },
      this.log,
    );
    this.nodes = new Cache<V1Node>(
      kc,
      '/api/v1/nodes',
      () => this.kube.listNodes(),
      {
        onAdd: (n) => this.nodeChanged(n, false),
        onUpdate: (n) => this.nodeChanged(n, false),
        onDelete: (n) => this.nodeChanged(n, true),
      },
      this.log,
    );
    const requeueOwner = (svc: V1Service) => {
      const key = ownerKey(svc);
      if (key) this.queue.add(key);
    };
    this.services = new Cache<V1Service>(
      kc,
      '/api/v1/services',
      () => this.kube.listServices(`${LABELS.managedBy}=${MANAGER}`),
      { onUpdate: requeueOwner, onDelete: requeueOwner },
      this.log,
      `${LABELS.managedBy}=${MANAGER}`,
    );
    // A class added or changed may reorder the line or unblock a job that named a missing class.
    const reorder = () => this.capacityChanged();
    this.priorityClasses = new Cache<V1PriorityClass>(
      kc,
      '/apis/scheduling.k8s.io/v1/priorityclasses',
      () => this.kube.listPriorityClasses(),
      { onAdd: reorder, onUpdate: reorder, onDelete: reorder },
      this.log,
    );
    this.leader = new LeaderElector(
      this.kube,
      {
        namespace: options.leaseNamespace,
        name: options.leaseName,
        identity: options.identity,
        leaseDurationSeconds: options.leaseDurationSeconds,
        retryPeriodMs: options.leaseRetryPeriodMs,
      },
      this.log,
    );
    // Requests' status changes (Provisioned, Failed) requeue their job.
    this.provisioner = new Provisioner(kc, this.kube, this.log, (key) => this.queue.add(key));
    const self = this;
    const ctx: ReconcileContext = {
      get jobs() {
        return self.allJobs();
      },
      get nodes() {
        return self.nodes.list();
      },
      get pods() {
        return self.pods.list();
      },
      get priorityClasses() {
        return self.priorityClasses.list();
      },
      serviceOf: (job) => {
        const svc = this.services.get(serviceName(job), job.metadata.namespace);
        return svc?.metadata?.ownerReferences?.some((o) => o.uid === job.metadata.uid) ? svc : undefined;
      },
      podsOf: (job) => this.podsOf(job),
      reserved: (key) => this.reservations.get(key),
      job: (key) => this.job(key),
      nodeExists: (name) => this.nodes.get(name) !== undefined,
      failedSince: (pod) => this.failedAt.get(pod.metadata?.uid ?? ''),
      remember: (job) => this.overlay.set(keyOf(job), job),
      reserve: (key, workers) => {
        if (workers === undefined) this.reservations.delete(key);
        else this.reservations.set(key, workers);
      },
      provisioner: this.provisioner,
    };
    this.reconciler = new Reconciler(
      this.kube,
      ctx,
      new EventRecorder(this.kube, this.leader.identity, this.log),
      options,
      this.prometheus,
      this.log,
    );
  }

  /** The freshest copy of a job: the cache, or this process's own last write if the watch lags. */
  job(key: string): TrainingJob | undefined {
    const [namespace, name] = key.split('/') as [string, string];
    const cached = this.jobs.get(name, namespace);
    const mine = this.overlay.get(key);
    if (!cached) {
      this.overlay.delete(key);
      return undefined;
    }
    if (!mine || mine.metadata.uid !== cached.metadata.uid || rvNum(cached) >= rvNum(mine)) {
      this.overlay.delete(key);
      return cached;
    }
    return mine;
  }

  private allJobs(): TrainingJob[] {
    return this.jobs.list().map((j) => this.job(keyOf(j)) ?? j);
  }

  podsOf(job: TrainingJob): V1Pod[] {
    const names = this.podIndex.get(keyOf(job));
    if (!names) return [];
    const out: V1Pod[] = [];
    for (const name of names) {
      const pod = this.pods.get(name, job.metadata.namespace);
      if (pod?.metadata?.ownerReferences?.some((o) => o.uid === job.metadata.uid)) out.push(pod);
    }
    return out;
  }

  private podChanged(pod: V1Pod, deleted: boolean): void {
    const key = ownerKey(pod);
    const uid = pod.metadata?.uid ?? '';
    if (deleted) this.failedAt.delete(uid);
    // Only failures seen arriving are timed; those already there at start-up fall back to finishedAt.
    else if (this.synced && pod.status?.phase === 'Failed' && !this.failedAt.has(uid)) {
      this.failedAt.set(uid, Date.now());
    }
    if (key) {
      let set = this.podIndex.get(key);
      if (deleted) {
        set?.delete(pod.metadata!.name!);
        if (set?.size === 0) this.podIndex.delete(key);
      } else {
        if (!set) {
          set = new Set();
          this.podIndex.set(key, set);
        }
        set.add(pod.metadata!.name!);
      }
      this.queue.add(key);
    }
    const phase = pod.status?.phase;
    if (deleted || phase === 'Succeeded' || phase === 'Failed') this.capacityChanged();
    else if (pod.spec?.nodeName) this.roomTaken(key);
    if (key && !deleted && unschedulable(pod)) this.unplaced.add(key);
  }

  /**
   * A pod holds room on a node (or a node changed): Starting jobs the scheduler could not fully place
   * get a look now, so a gang whose room was taken after admission is released at once, not at its
   * gang timeout.
   */
  private roomTaken(except?: string): void {
    if (!this.synced) return;
    for (const key of this.unplaced) {
      if (key === except) continue;
      if (this.job(key)?.status?.phase !== 'Starting') this.unplaced.delete(key);
      else this.queue.add(key);
    }
  }

  private nodeChanged(node: V1Node, deleted: boolean): void {
    const name = node.metadata!.name!;
    const signature = deleted
      ? ''
      : JSON.stringify([
          node.spec?.unschedulable,
          node.spec?.taints,
          node.metadata?.labels,
          node.status?.allocatable,
          node.status?.conditions?.find((c) => c.type === 'Ready')?.status,
        ]);
    if (this.nodeSignature.get(name) === signature) return;
    if (deleted) this.nodeSignature.delete(name);
    else this.nodeSignature.set(name, signature);
    this.capacityChanged(true);
    this.roomTaken();
    if (deleted) {
      for (const pod of this.pods.list()) {
        const key = pod.spec?.nodeName === name ? ownerKey(pod) : undefined;
        if (key) this.queue.add(key);
      }
    }
  }

  /** Capacity was freed or added: waiting jobs (and, for node changes, elastic ones) get another look. */
  private capacityChanged(includeElastic = false): void {
    if (!this.synced) return;
    for (const job of this.allJobs()) {
      if (isWaiting(job) || (includeElastic && job.spec.elastic && job.status?.phase === 'Running')) {
        this.queue.add(keyOf(job));
      }
    }
  }

  async start(): Promise<void> {
    const { port, server } = await startHealthServer(
      this.options.healthPort,
      this.options.healthHost,
      this.prometheus,
      {
        ready: () => this.synced,
        leader: () => this.leader.isLeader,
      },
    );
    this.healthPort = port;
    this.health = server;
    this.log.info({ healthPort: port }, 'starting');
    const caches = [this.nodes, this.pods, this.services, this.priorityClasses, this.jobs];
    await Promise.all(caches.map((c) => c.start()));
    await Promise.all(caches.map((c) => c.synced));
    await this.provisioner.start();
    this.synced = true;
    const leading = await this.leader.acquire(() => {
      this.log.error('leadership lost; stopping so a fresh replica takes over');
      if (this.options.onLeadershipLost) this.options.onLeadershipLost();
      else process.exit(1);
    });
    if (!leading) return;
    this.prometheus.isLeader.set(1);
    for (const job of this.jobs.list()) this.queue.add(keyOf(job));
    this.workers = Array.from({ length: this.options.concurrency }, () => this.work());
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.prometheus.queueDepth.set(this.queue.depth);
      const end = this.prometheus.reconcileDuration.startTimer();
      try {
        const result = await this.reconciler.reconcile(key);
        this.queue.forget(key);
        if (result.requeueAfterMs !== undefined && Number.isFinite(result.requeueAfterMs)) {
          this.queue.addAfter(key, Math.max(0, result.requeueAfterMs));
          this.prometheus.reconciles.inc({ result: 'requeue' });
        } else {
          this.prometheus.reconciles.inc({ result: 'success' });
        }
      } catch (err) {
        const delay = this.queue.addRateLimited(key);
        this.prometheus.reconciles.inc({ result: 'error' });
        this.prometheus.reconcileErrors.inc();
        this.log.error({ job: key, err: errorText(err), retryInMs: delay }, 'reconcile failed');
      } finally {
        end();
        this.queue.done(key);
      }
    }
  }

  /** Graceful shutdown: finish in-flight reconciles, hand back the Lease, stop watching. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.queue.shutdown();
    await Promise.race([Promise.all(this.workers), new Promise((r) => setTimeout(r, 10_000))]);
    await this.leader.release();
    this.prometheus.isLeader.set(0);
    await Promise.all(
      [this.jobs, this.pods, this.nodes, this.services, this.priorityClasses, this.provisioner].map((c) =>
        c.stop(),
      ),
    );
    this.health?.close();
    this.log.info('stopped');
  }
}

function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'body' in err) {
    const body = (err as { body?: unknown }).body;
    return `${String(err)} ${typeof body === 'string' ? body : JSON.stringify(body)}`.slice(0, 2000);
  }
  return String(err);
}

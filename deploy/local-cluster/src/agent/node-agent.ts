// The node agent: our stand-in for the kubelet (and for the local-path provisioner kind ships). It
// registers nodes with the capacity and labels asked for, keeps their Ready condition and Leases fresh,
// runs the pods the real scheduler binds to them as host processes (pod-runner.ts), serves their logs to
// the apiserver, keeps a DNS table for them, and binds PersistentVolumeClaims to host directories.
import { mkdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { isConflict, isNotFound } from '@kiln/kube';
import {
  CoordinationV1Api,
  CoreV1Api,
  type Informer,
  KubeConfig,
  makeInformer,
  type ObjectCache,
  PatchStrategy,
  StorageV1Api,
  setHeaderOptions,
  type V1Node,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1Service,
  type V1Taint,
} from '@kubernetes/client-node';
import { dnsRecords, writeHostsFile } from './hosts.js';
import type { ImageMap } from './images.js';
import { LoopbackPool } from './ip-pool.js';
import { type LogServer, startLogServer } from './log-server.js';
import { PodRunner } from './pod-runner.js';

export interface NodeSpec {
  name: string;
  /** Kubernetes quantities; defaults: 8 CPUs, 32Gi, 0 GPUs, 110 pods */
  cpu?: string;
  memory?: string;
  gpus?: number;
  pods?: number;
  labels?: Record<string, string>;
  taints?: V1Taint[];
  /** spec.providerID: how a cloud (the local one for the Cluster Autoscaler) knows its instance */
  providerID?: string;
}

/** The capacity a node registers with (also what a node pool's template promises the autoscaler). */
export function nodeCapacity(spec: Omit<NodeSpec, 'name'>): Record<string, string> {
  const capacity: Record<string, string> = {
    cpu: spec.cpu ?? '8',
    memory: spec.memory ?? '32Gi',
    pods: String(spec.pods ?? 110),
    'ephemeral-storage': '100Gi',
  };
  if (spec.gpus) capacity[gpuResource] = String(spec.gpus);
  return capacity;
}

export function nodeLabels(name: string, spec: Omit<NodeSpec, 'name'>): Record<string, string> {
  return {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kiln.dev/node-agent': 'true',
    ...spec.labels,
  };
}

export interface NodeAgentOptions {
  kubeconfigPath: string;
  /** working directory: pod sandboxes, logs, hosts file */
  dir: string;
  nodes?: NodeSpec[];
  images?: ImageMap;
  /** certificate the log endpoint serves, and the CA its clients (the apiserver) must be signed by */
  tls: { cert: string; key: string; ca: string };
  /** second octet of pod addresses (127.<octet>.<node>.<pod>); random by default */
  clusterOctet?: number;
  /** where PersistentVolumeClaims get their directories: <volumesRoot>/<namespace>/<claim> */
  volumesRoot?: string;
  log?: (message: string) => void;
}

export const storageClassName = 'kiln-local';
export const provisionerName = 'kiln.dev/host-path';
const gpuResource = 'nvidia.com/gpu';
const leaseNamespace = 'kube-node-lease';
const heartbeatMs = 10_000;

const microTime = () => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function retry<T>(what: string, fn: () => Promise<T>, attempts = 50): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw new Error(`${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export class NodeAgent {
  readonly hostsFile: string;
  private readonly kc = new KubeConfig();
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly storage: StorageV1Api;
  private readonly nodes = new Map<string, { spec: NodeSpec; index: number }>();
  private readonly runners = new Map<string, PodRunner>();
  private readonly pool: LoopbackPool;
  private readonly dnsHook = new URL('./dns-hook.mjs', import.meta.url).href;
  private readonly log: (message: string) => void;
  private nodeCounter = 0;
  private heartbeat?: NodeJS.Timeout;
  private logServer?: LogServer;
  private podInformer?: Informer<V1Pod> & ObjectCache<V1Pod>;
  private serviceInformer?: Informer<V1Service> & ObjectCache<V1Service>;
  private claimInformer?: Informer<V1PersistentVolumeClaim> & ObjectCache<V1PersistentVolumeClaim>;
  private stopped = false;
  private readonly apiserverPort: number;
  private readonly apiserverCa: string;
  private readonly volumesRoot: string;

  private constructor(private readonly opts: NodeAgentOptions) {
    this.kc.loadFromFile(opts.kubeconfigPath);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.coordination = this.kc.makeApiClient(CoordinationV1Api);
    this.storage = this.kc.makeApiClient(StorageV1Api);
    this.pool = opts.clusterOctet ? new LoopbackPool(opts.clusterOctet) : LoopbackPool.random();
    this.hostsFile = join(opts.dir, 'hosts');
    this.volumesRoot = opts.volumesRoot ?? join(opts.dir, 'volumes');
    this.apiserverPort = Number(new URL(this.kc.getCurrentCluster()!.server).port);
    const cluster = this.kc.getCurrentCluster()!;
    this.apiserverCa = cluster.caData
      ? Buffer.from(cluster.caData, 'base64').toString()
      : readFileSync(cluster.caFile ?? opts.tls.ca, 'utf8');
    this.log = opts.log ?? ((m) => console.error(`[node-agent] ${m}`));
  }

  static async start(opts: NodeAgentOptions): Promise<NodeAgent> {
    const agent = new NodeAgent(opts);
    try {
      await agent.init();
    } catch (err) {
      await agent.stop();
      throw err;
    }
    return agent;
  }

  private async init(): Promise<void> {
    mkdirSync(join(this.opts.dir, 'pods'), { recursive: true });
    mkdirSync(this.volumesRoot, { recursive: true });
    writeHostsFile(this.hostsFile, new Map());
    this.logServer = await startLogServer(
      {
        cert: readFileSync(this.opts.tls.cert),
        key: readFileSync(this.opts.tls.key),
        ca: readFileSync(this.opts.tls.ca),
      },
      {
        file: (ns, pod, container, previous) =>
          this.runners.get(`${ns}/${pod}`)?.logFile(container, previous),
        live: (ns, pod, container) => this.runners.get(`${ns}/${pod}`)?.live(container) ?? false,
      },
    );
    await this.ensureStorageClass();

    this.serviceInformer = makeInformer(this.kc, '/api/v1/services', () =>
      this.core.listServiceForAllNamespaces(),
    );
    for (const verb of ['add', 'update', 'delete'] as const)
      this.serviceInformer.on(verb, () => this.refreshDns());
    this.claimInformer = makeInformer(this.kc, '/api/v1/persistentvolumeclaims', () =>
      this.core.listPersistentVolumeClaimForAllNamespaces(),
    );
    this.claimInformer.on('add', (pvc) => void this.provision(pvc));
    this.claimInformer.on('update', (pvc) => void this.provision(pvc));
    this.podInformer = makeInformer(this.kc, '/api/v1/pods', () => this.core.listPodForAllNamespaces());
    this.podInformer.on('add', (pod) => this.onPod(pod));
    this.podInformer.on('update', (pod) => this.onPod(pod));
    this.podInformer.on('delete', (pod) => this.onPodDeleted(pod));
    for (const informer of [this.serviceInformer, this.claimInformer, this.podInformer] as const) {
      // Watches end (timeouts, apiserver restarts): start again, as client-go's reflector does.
      informer.on('error', () => {
        if (!this.stopped) setTimeout(() => void informer.start().catch(() => {}), 500).unref();
      });
      await informer.start();
    }

    for (const spec of this.opts.nodes ?? []) await this.addNode(spec);
    this.heartbeat = setInterval(() => void this.beat(), heartbeatMs);
    this.heartbeat.unref();
  }

  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  /** Registers a node (Node object, status, Lease); the scheduler can place pods on it at once. */
  async addNode(spec: NodeSpec): Promise<void> {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(spec.name)) {
      throw new Error(`node name: expected a lowercase DNS name, got "${spec.name}"`);
    }
    if (spec.gpus !== undefined && (!Number.isInteger(spec.gpus) || spec.gpus < 0)) {
      throw new Error(`node ${spec.name}: gpus: expected a whole number >= 0, got ${spec.gpus}`);
    }
    if (this.nodes.has(spec.name)) throw new Error(`node ${spec.name} is already registered by this agent`);
    this.nodes.set(spec.name, { spec, index: ++this.nodeCounter });
    const capacity = nodeCapacity(spec);
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: spec.name, labels: nodeLabels(spec.name, spec) },
      spec: { taints: spec.taints, providerID: spec.providerID },
    };
    const status = {
      capacity,
      allocatable: capacity,
      conditions: this.conditions(),
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: spec.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.logServer!.port } },
      nodeInfo: {
        machineID: spec.name,
        systemUUID: spec.name,
        bootID: String(process.pid),
        kernelVersion: release(),
        osImage: 'kiln node agent',
        containerRuntimeVersion: 'kiln://host-process',
        kubeletVersion: 'v0.0.0-kiln-node-agent',
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    };
    // Created with its status (as the kubelet registers), so it is never seen NotReady and tainted;
    // the status patch covers a Node left over from an earlier agent.
    try {
      await this.core.createNode({ body: { ...node, status } as unknown as V1Node });
    } catch (err) {
      if (!isConflict(err)) throw err;
      await this.core.replaceNode({ name: spec.name, body: node });
    }
    await this.core.patchNodeStatus({ name: spec.name, body: { status } }, merge);
    // kube-node-lease is created by the apiserver shortly after it starts.
    await retry(`lease for node ${spec.name}`, async () => {
      try {
        await this.coordination.createNamespacedLease({
          namespace: leaseNamespace,
          body: {
            metadata: { name: spec.name, ownerReferences: [] },
            spec: {
              holderIdentity: spec.name,
              leaseDurationSeconds: 40,
              renewTime: microTime() as unknown as Date,
            },
          },
        });
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    });
  }

  /**
   * Takes a node away the way a preemption or a lost machine does: its pods' processes get SIGTERM, then
   * SIGKILL after `graceSeconds` (default 0: killed at once), the pods are left Failed with reason
   * "Terminated" and a DisruptionTarget condition, and the Node and its Lease are deleted.
   */
  async removeNode(name: string, opts: { graceSeconds?: number } = {}): Promise<void> {
    if (!this.nodes.has(name)) throw new Error(`node ${name} is not registered by this agent`);
    this.nodes.delete(name);
    const victims = [...this.runners.values()].filter((r) => r.pod.spec?.nodeName === name);
    await Promise.all(victims.map((r) => r.evict((opts.graceSeconds ?? 0) * 1000, name)));
    await this.coordination.deleteNamespacedLease({ name, namespace: leaseNamespace }).catch(() => {});
    await this.core.deleteNode({ name }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
  }

  private conditions() {
    const time = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const cond = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: time,
      lastTransitionTime: time,
    });
    return [
      cond('Ready', 'True', 'KubeletReady', 'kiln node agent is posting ready status'),
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'no memory pressure'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'no PID pressure'),
    ];
  }

  private async beat(): Promise<void> {
    for (const name of this.nodes.keys()) {
      try {
        await this.coordination.patchNamespacedLease(
          { name, namespace: leaseNamespace, body: { spec: { renewTime: microTime() } } },
          merge,
        );
      } catch (err) {
        this.log(`lease ${name}: ${(err as Error).message}`);
      }
    }
  }

  private onPod(pod: V1Pod): void {
    if (this.stopped) return;
    const nodeName = pod.spec?.nodeName;
    const node = nodeName ? this.nodes.get(nodeName) : undefined;
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    const existing = this.runners.get(key);
    if (existing) {
      if (existing.pod.metadata?.uid === pod.metadata?.uid) existing.update(pod);
      return;
    }
    if (!node) return;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return; // finished before this agent saw it
    const ip = this.pool.allocate(node.index);
    const podDir = join(
      this.opts.dir,
      'pods',
      `${pod.metadata?.namespace}_${pod.metadata?.name}_${pod.metadata?.uid}`,
    );
    const runner = new PodRunner(
      {
        core: this.core,
        nodeName: nodeName!,
        hostIP: '127.0.0.1',
        podIP: ip,
        podDir,
        images: this.opts.images ?? {},
        hostsFile: this.hostsFile,
        dnsHook: this.dnsHook,
        apiserverPort: this.apiserverPort,
        apiserverCa: this.apiserverCa,
        onChange: () => this.refreshDns(),
        onGone: () => {
          if (this.runners.get(key) === runner) this.runners.delete(key);
          this.pool.release(ip);
          this.refreshDns();
        },
        log: this.log,
      },
      pod,
    );
    this.runners.set(key, runner);
    this.refreshDns();
    void runner.start();
    if (pod.metadata?.deletionTimestamp) runner.update(pod);
  }

  private onPodDeleted(pod: V1Pod): void {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    const runner = this.runners.get(key);
    if (runner && runner.pod.metadata?.uid === pod.metadata?.uid) void runner.vanish();
  }

  private refreshDns(): void {
    if (this.stopped) return;
    // A terminating pod leaves its Services' names at once, as the EndpointSlice controller marks it not
    // ready, while its processes still run out their grace period.
    const pods = [...this.runners.values()].map((r) => ({
      pod: r.pod,
      ip: r.podIP,
      ready: r.ready && !r.pod.metadata?.deletionTimestamp,
    }));
    writeHostsFile(this.hostsFile, dnsRecords(pods, this.serviceInformer?.list() ?? []));
  }

  private async ensureStorageClass(): Promise<void> {
    await retry('storage class', async () => {
      try {
        await this.storage.createStorageClass({
          body: {
            metadata: {
              name: storageClassName,
              annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
            },
            provisioner: provisionerName,
            reclaimPolicy: 'Retain',
            volumeBindingMode: 'Immediate',
          },
        });
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    });
  }

  /** A claim of our class gets a hostPath PersistentVolume pre-bound to it; the PV controller binds them. */
  private async provision(pvc: V1PersistentVolumeClaim): Promise<void> {
    if (this.stopped || pvc.spec?.volumeName || pvc.status?.phase !== 'Pending') return;
    if (pvc.spec?.storageClassName !== storageClassName) return;
    const ns = pvc.metadata!.namespace!;
    const claim = pvc.metadata!.name!;
    const path = join(this.volumesRoot, ns, claim);
    mkdirSync(path, { recursive: true });
    try {
      await this.core.createPersistentVolume({
        body: {
          metadata: {
            name: `pvc-${pvc.metadata!.uid}`,
            annotations: { 'pv.kubernetes.io/provisioned-by': provisionerName },
          },
          spec: {
            capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
            accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
            hostPath: { path, type: 'DirectoryOrCreate' },
            storageClassName,
            persistentVolumeReclaimPolicy: 'Retain',
            claimRef: { namespace: ns, name: claim, uid: pvc.metadata!.uid },
          },
        },
      });
    } catch (err) {
      if (!isConflict(err)) this.log(`provisioning ${ns}/${claim}: ${(err as Error).message}`);
    }
  }

  /** Stops every pod process (SIGTERM, then SIGKILL after graceMs) and the watches; Node objects stay. */
  async stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    for (const informer of [this.podInformer, this.serviceInformer, this.claimInformer]) {
      await informer?.stop().catch(() => {});
    }
    await Promise.all([...this.runners.values()].map((r) => r.stopAll(graceMs)));
    await Promise.all([...this.runners.values()].map((r) => r.settled()));
    this.runners.clear();
    await this.logServer?.close();
  }
}

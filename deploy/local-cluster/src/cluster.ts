// A whole local cluster: the real control plane (control-plane.ts) plus our node agent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ImageMap, parseImageMap } from './agent/images.js';
import { NodeAgent, type NodeSpec } from './agent/node-agent.js';
import { type Autoscaler, installProvisioningRequestCrd, startAutoscaler } from './autoscaler.js';
import { ensureBinaries } from './binaries.js';
import { autoscalerArtifacts } from './cloud/artifacts.js';
import { type CloudServer, serveCloud } from './cloud/grpc-server.js';
import { LocalCloud } from './cloud/local-cloud.js';
import type { NodePoolSpec } from './cloud/pools.js';
import { type ControlPlane, startControlPlane } from './control-plane.js';
import { cachedPki, createPki, type Pki } from './pki.js';

export interface ClusterOptions {
  /** nodes registered at start; default: one node "node-1" with 8 CPUs, 32Gi and no GPUs. [] for none */
  nodes?: NodeSpec[];
  /** image → local command root; default from $KILN_IMAGE_MAP (JSON) */
  images?: ImageMap;
  /** state directory (certificates, etcd data, logs, pod sandboxes); default: a fresh temp dir */
  dir?: string;
  /** keep the state directory after stop() (it is removed by default when it was a temp dir) */
  keepDir?: boolean;
  /** directory with etcd, kube-apiserver, ...; default $KILN_K8S_BIN or the build cache */
  binDir?: string;
  /** where PersistentVolumeClaims get host directories (<root>/<namespace>/<claim>) */
  volumesRoot?: string;
  /** make new certificates in the state dir instead of reusing the machine's cached set */
  freshCertificates?: boolean;
  /** extra kube-apiserver flags */
  apiserverArgs?: string[];
  timeoutMs?: number;
  /**
   * Node pools the real Cluster Autoscaler grows and shrinks through the agent's local cloud; the
   * ProvisioningRequest CRD is installed first. Omitted: a fixed cluster, no autoscaler.
   */
  autoscaling?: { pools: NodePoolSpec[]; autoscalerArgs?: string[] };
}

export interface ClusterAutoscaling {
  cloud: LocalCloud;
  server: CloudServer;
  /** the running autoscaler; replaced by restart() */
  readonly autoscaler: Autoscaler;
  /** starts the autoscaler again (after kill(), or to change flags) */
  restart(extraArgs?: string[]): Promise<Autoscaler>;
}

export interface Cluster {
  /** cluster-admin kubeconfig (certificates embedded) */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  dir: string;
  binDir: string;
  agent: NodeAgent;
  /** the local cloud and Cluster Autoscaler, when `autoscaling` was asked for */
  autoscaling?: ClusterAutoscaling;
  /** process ids of etcd and the control-plane components (for measurements) */
  pids: Record<string, number>;
  /** ms from start until each part was ready (etcdMs, apiserverMs, controllersMs, nodesMs) */
  timings: Record<string, number>;
  stop(): Promise<void>;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const binDir = opts.binDir ?? ensureBinaries();
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'kiln-cluster-'));
  const cleanup = () => {
    if (ownDir && !opts.keepDir) rmSync(dir, { recursive: true, force: true });
  };
  let pki: Pki;
  let plane: ControlPlane;
  try {
    pki = opts.freshCertificates ? createPki(dir) : cachedPki();
    plane = await startControlPlane({
      dir,
      binDir,
      pki,
      timeoutMs: opts.timeoutMs,
      apiserverArgs: opts.apiserverArgs,
    });
  } catch (err) {
    cleanup();
    throw err;
  }
  const agentStart = Date.now();
  let agent: NodeAgent;
  try {
    agent = await NodeAgent.start({
      kubeconfigPath: plane.kubeconfigPath,
      dir: join(dir, 'agent'),
      nodes: opts.nodes ?? [{ name: 'node-1' }],
      images: opts.images ?? parseImageMap(process.env.KILN_IMAGE_MAP),
      tls: { cert: pki.kubeletServingCert, key: pki.kubeletServingKey, ca: pki.caCert },
      volumesRoot: opts.volumesRoot,
    });
  } catch (err) {
    await plane.stop();
    cleanup();
    throw err;
  }
  let autoscaling: ClusterAutoscaling | undefined;
  let cloud: LocalCloud | undefined;
  let server: CloudServer | undefined;
  let autoscaler: Autoscaler | undefined;
  if (opts.autoscaling) {
    try {
      const artifacts = autoscalerArtifacts(binDir);
      await installProvisioningRequestCrd(join(binDir, 'kubectl'), plane.kubeconfigPath, artifacts.crdFile);
      cloud = new LocalCloud(agent, opts.autoscaling.pools);
      await cloud.start();
      server = await serveCloud(cloud, artifacts.protoRoot);
      const baseArgs = opts.autoscaling.autoscalerArgs ?? [];
      const launch = (extra: string[] = []) =>
        startAutoscaler({
          binary: artifacts.binary,
          kubeconfigPath: plane.kubeconfigPath,
          cloudAddress: server!.address,
          dir: plane.logDir,
          args: [...baseArgs, ...extra],
        });
      autoscaler = await launch();
      const c = cloud;
      const s = server;
      autoscaling = {
        cloud: c,
        server: s,
        get autoscaler() {
          return autoscaler!;
        },
        async restart(extra) {
          await autoscaler?.stop();
          autoscaler = await launch(extra);
          return autoscaler;
        },
      };
    } catch (err) {
      await autoscaler?.stop();
      await server?.close();
      cloud?.stop();
      await agent.stop();
      await plane.stop();
      cleanup();
      throw err;
    }
  }
  let stopped: Promise<void> | undefined;
  return {
    autoscaling,
    kubeconfigPath: plane.kubeconfigPath,
    server: plane.server,
    dir,
    binDir,
    agent,
    timings: { ...plane.timings, nodesMs: plane.timings.controllersMs! + Date.now() - agentStart },
    pids: Object.fromEntries(Object.entries(plane.processes).map(([k, p]) => [k, p.pid ?? 0])),
    stop() {
      stopped ??= (async () => {
        await autoscaler?.stop();
        await server?.close();
        cloud?.stop();
        await agent.stop();
        await plane.stop();
        cleanup();
      })();
      return stopped;
    },
  };
}

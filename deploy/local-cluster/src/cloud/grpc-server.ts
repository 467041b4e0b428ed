// Serves the local cloud as the Cluster Autoscaler's externalgrpc CloudProvider service, on loopback.
// The service definition is CA's own proto, loaded from the Go module cache (see proto.ts), with the
// k8s.io protos it imports, so the wire format is exactly what the CA binary was built with.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { V1Node } from '@kubernetes/client-node';
import { CloudError, type Instance, type LocalCloud } from './local-cloud.js';
import { gpuLabel } from './pools.js';

const serviceName = 'clusterautoscaler.cloudprovider.v1.externalgrpc.CloudProvider';

// cloudprovider.InstanceErrorClass: OutOfResourcesErrorClass = 1 (CA backs the group off and retries).
const outOfResources = 1;

interface GrpcNode {
  providerID?: string;
  name?: string;
  labels?: Record<string, string>;
}

type Unary = grpc.handleUnaryCall<unknown, unknown>;

export interface CloudServer {
  /** host:port for CA's cloud-config `address` */
  address: string;
  /** calls served per method (the idle benchmark reads how chatty CA is) */
  calls: Map<string, number>;
  close(): Promise<void>;
}

function statusOf(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof CloudError) {
    const code = {
      'not-found': grpc.status.NOT_FOUND,
      invalid: grpc.status.INVALID_ARGUMENT,
      exhausted: grpc.status.RESOURCE_EXHAUSTED,
    }[err.kind];
    return { code, details: err.message };
  }
  return { code: grpc.status.INTERNAL, details: (err as Error).message };
}

const quantities = (m: Record<string, string> | undefined) =>
  Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, { string: v }]));

/** A Node in the shape of k8s.io.api.core.v1.Node (proto2 generated.proto): quantities are messages. */
function protoNode(node: V1Node) {
  return {
    metadata: { name: node.metadata?.name, labels: node.metadata?.labels ?? {} },
    spec: {
      providerID: node.spec?.providerID,
      taints: (node.spec?.taints ?? []).map((t) => ({ key: t.key, value: t.value ?? '', effect: t.effect })),
    },
    status: {
      capacity: quantities(node.status?.capacity),
      allocatable: quantities(node.status?.allocatable),
      conditions: (node.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status })),
    },
  };
}

function protoInstance(inst: Instance) {
  const instanceState =
    inst.state === 'running'
      ? 'instanceRunning'
      : inst.state === 'creating'
        ? 'instanceCreating'
        : 'instanceDeleting';
  return {
    id: inst.id,
    status: {
      instanceState,
      errorInfo: inst.error
        ? { errorCode: inst.error.code, errorMessage: inst.error.message, instanceErrorClass: outOfResources }
        : undefined,
    },
  };
}

export function loadCloudService(protoRoot: string): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync('externalgrpc.proto', {
    includeDirs: [protoRoot],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const service = definition[serviceName] as grpc.ServiceDefinition | undefined;
  if (!service) throw new Error(`${protoRoot}/externalgrpc.proto: no service ${serviceName}`);
  // CA >= 1.35 reads the template from field 2 (bytes nodeBytes, the same Node encoding) and older ones
  // from field 1 (nodeInfo): send both, so the cloud keeps working when the autoscaler is upgraded.
  const template = service.NodeGroupTemplateNodeInfo!;
  const serialize = template.responseSerialize;
  return {
    ...service,
    NodeGroupTemplateNodeInfo: {
      ...template,
      responseSerialize: (value: unknown) => {
        const buf = serialize(value);
        if (buf[0] !== 0x0a) return buf; // field 1 absent (no template): nothing to mirror
        return Buffer.concat([buf, Buffer.from([0x12]), buf.subarray(1)]);
      },
    },
  };
}

function handlers(cloud: LocalCloud, calls: Map<string, number>): Record<string, Unary> {
  const unary =
    <Req>(name: string, fn: (req: Req) => unknown): Unary =>
    (call, callback) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      Promise.resolve()
        .then(() => fn(call.request as Req))
        .then(
          (res) => callback(null, res ?? {}),
          (err) => callback(statusOf(err)),
        );
    };
  const unimplemented =
    (name: string): Unary =>
    (_call, callback) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      callback({ code: grpc.status.UNIMPLEMENTED, details: `${name} is not offered by the local cloud` });
    };
  const group = (p: { id: string; min: number; max: number }) => ({
    id: p.id,
    minSize: p.min,
    maxSize: p.max,
    debug: `local pool ${p.id} (${p.min}..${p.max})`,
  });
  return {
    NodeGroups: unary('NodeGroups', () => ({ nodeGroups: cloud.pools.map(group) })),
    NodeGroupForNode: unary('NodeGroupForNode', (req: { node?: GrpcNode }) => {
      const pool = cloud.poolForNode(req.node?.providerID);
      return { nodeGroup: pool ? group(pool) : { id: '' } };
    }),
    PricingNodePrice: unimplemented('PricingNodePrice'),
    PricingPodPrice: unimplemented('PricingPodPrice'),
    GPULabel: unary('GPULabel', () => ({ label: gpuLabel })),
    GetAvailableGPUTypes: unary('GetAvailableGPUTypes', () => ({
      gpuTypes: { nvidia: { type_url: '', value: Buffer.alloc(0) } },
    })),
    Cleanup: unary('Cleanup', () => ({})),
    Refresh: unary('Refresh', () => ({})),
    NodeGroupTargetSize: unary('NodeGroupTargetSize', (req: { id: string }) => ({
      targetSize: cloud.targetSize(req.id),
    })),
    NodeGroupIncreaseSize: unary('NodeGroupIncreaseSize', (req: { id: string; delta: number }) =>
      cloud.increaseSize(req.id, req.delta),
    ),
    NodeGroupDeleteNodes: unary('NodeGroupDeleteNodes', (req: { id: string; nodes: GrpcNode[] }) =>
      cloud.deleteNodes(req.id, req.nodes),
    ),
    NodeGroupDecreaseTargetSize: unary('NodeGroupDecreaseTargetSize', (req: { id: string; delta: number }) =>
      cloud.decreaseTargetSize(req.id, req.delta),
    ),
    NodeGroupNodes: unary('NodeGroupNodes', (req: { id: string }) => {
      cloud.pool(req.id);
      return { instances: cloud.listInstances(req.id).map(protoInstance) };
    }),
    NodeGroupTemplateNodeInfo: unary('NodeGroupTemplateNodeInfo', (req: { id: string }) => ({
      nodeInfo: protoNode(cloud.templateNode(req.id)),
    })),
    // Per-group options are optional: CA then uses its command-line defaults.
    NodeGroupGetOptions: unimplemented('NodeGroupGetOptions'),
  };
}

/** Starts the gRPC server on 127.0.0.1 (a free port unless one is given). */
export async function serveCloud(cloud: LocalCloud, protoRoot: string, port = 0): Promise<CloudServer> {
  const server = new grpc.Server();
  const calls = new Map<string, number>();
  server.addService(loadCloudService(protoRoot), handlers(cloud, calls));
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${bound}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}

// The local cloud over its real gRPC surface: CA's externalgrpc proto from the Go module cache, served by
// grpc-js and called by a grpc-js client built from the same proto. The node host here is a recording
// fake (no control plane), so the cloud's own rules are checked in isolation; autoscaling.test.ts runs
// the same cloud under the real Cluster Autoscaler.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { NodeSpec } from '../src/agent/node-agent.js';
import { ensureBinaries } from '../src/binaries.js';
import { autoscalerArtifacts } from '../src/cloud/artifacts.js';
import { type CloudServer, loadCloudService, serveCloud } from '../src/cloud/grpc-server.js';
import { LocalCloud, type NodeHost } from '../src/cloud/local-cloud.js';
import { validatePools } from '../src/cloud/pools.js';

class RecordingHost implements NodeHost {
  readonly nodes = new Map<string, NodeSpec>();
  async addNode(spec: NodeSpec) {
    this.nodes.set(spec.name, spec);
  }
  async removeNode(name: string) {
    this.nodes.delete(name);
  }
}

let protoRoot = '';
let server: CloudServer;
let cloud: LocalCloud;
let host: RecordingHost;
let client: grpc.Client;

type Call = (req: object) => Promise<Record<string, unknown>>;
const call =
  (method: string): Call =>
  (req) =>
    new Promise((resolve, reject) => {
      const fn = (
        client as unknown as Record<
          string,
          (req: object, cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void) => void
        >
      )[method]!.bind(client);
      fn(req, (err: grpc.ServiceError | null, res: Record<string, unknown>) =>
        err ? reject(err) : resolve(res),
      );
    });

before(async () => {
  protoRoot = autoscalerArtifacts(ensureBinaries()).protoRoot;
  host = new RecordingHost();
  cloud = new LocalCloud(
    host,
    [
      {
        id: 'gpu',
        min: 0,
        max: 3,
        bootDelayMs: 50,
        template: {
          cpu: '8',
          memory: '64Gi',
          gpus: 2,
          taints: [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }],
        },
      },
      { id: 'cpu', min: 1, max: 2, bootDelayMs: 0 },
    ],
    () => {},
  );
  await cloud.start();
  server = await serveCloud(cloud, protoRoot);
  const Client = grpc.makeGenericClientConstructor(loadCloudService(protoRoot), 'CloudProvider');
  client = new Client(server.address, grpc.credentials.createInsecure());
});

after(async () => {
  client?.close();
  await server?.close();
  cloud?.stop();
});

test('node groups, the GPU label and the template come back over gRPC (template in fields 1 and 2)', async () => {
  const groups = (await call('NodeGroups')({})).nodeGroups as {
    id: string;
    minSize: number;
    maxSize: number;
  }[];
  assert.deepEqual(
    groups.map((g) => [g.id, g.minSize, g.maxSize]),
    [
      ['gpu', 0, 3],
      ['cpu', 1, 2],
    ],
  );
  assert.equal((await call('GPULabel')({})).label, 'kiln.dev/accelerator');
  const tpl = (await call('NodeGroupTemplateNodeInfo')({ id: 'gpu' })).nodeInfo as {
    metadata: { labels: Record<string, string> };
    spec: { taints: { key: string; effect: string }[] };
    status: { allocatable: Record<string, { string: string }> };
  };
  assert.equal(tpl.status.allocatable['nvidia.com/gpu']?.string, '2');
  assert.equal(tpl.status.allocatable.memory?.string, '64Gi');
  assert.equal(tpl.metadata.labels['kiln.dev/pool'], 'gpu');
  assert.equal(tpl.metadata.labels['kiln.dev/accelerator'], 'nvidia');
  assert.deepEqual(
    tpl.spec.taints.map((t) => [t.key, t.effect]),
    [['gpu', 'NoSchedule']],
  );
  // Newer autoscalers read the same Node from field 2 (bytes): the serializer mirrors field 1 there.
  const def = loadCloudService(protoRoot).NodeGroupTemplateNodeInfo!;
  const wire = def.responseSerialize({ nodeInfo: { metadata: { name: 'x' } } });
  const half = (wire.length - 1) / 2 + 0.5;
  assert.equal(wire[0], 0x0a);
  assert.equal(wire[half], 0x12);
  assert.deepEqual(wire.subarray(half + 1), wire.subarray(1, half));
});

test('the minimum boots at start; scale-up registers nodes with providerID and pool label after the boot delay', async () => {
  assert.deepEqual([...host.nodes.keys()], ['cpu-1']);
  assert.equal((await call('NodeGroupTargetSize')({ id: 'gpu' })).targetSize, 0);
  let atIncrease: string[] = [];
  const registered = new Promise<void>((resolve) => {
    let n = 0;
    const off = cloud.on((e) => {
      if (e.type === 'increase') atIncrease = cloud.listInstances('gpu').map((i) => i.state);
      if (e.type === 'registered' && e.pool === 'gpu' && ++n === 2) {
        off();
        resolve();
      }
    });
  });
  await call('NodeGroupIncreaseSize')({ id: 'gpu', delta: 2 });
  assert.equal((await call('NodeGroupTargetSize')({ id: 'gpu' })).targetSize, 2);
  await registered;
  // Not registered at the moment of the scale-up: nodes come only after the boot delay.
  assert.deepEqual(atIncrease, ['creating', 'creating']);
  const running = (await call('NodeGroupNodes')({ id: 'gpu' })).instances as {
    status: { instanceState: string };
  }[];
  assert.deepEqual(
    running.map((i) => i.status.instanceState),
    ['instanceRunning', 'instanceRunning'],
  );
  const gpuNodes = [...host.nodes.values()].filter((n) => n.labels?.['kiln.dev/pool'] === 'gpu');
  assert.equal(gpuNodes.length, 2);
  for (const n of gpuNodes) assert.equal(n.providerID, `kiln://gpu/${n.name}`);
  const group = (
    await call('NodeGroupForNode')({ node: { providerID: gpuNodes[0]!.providerID, name: gpuNodes[0]!.name } })
  ).nodeGroup as { id: string };
  assert.equal(group.id, 'gpu');
  const none = (await call('NodeGroupForNode')({ node: { providerID: '', name: 'static-1' } })).nodeGroup as {
    id: string;
  };
  assert.equal(none.id, '');

  await call('NodeGroupDeleteNodes')({
    id: 'gpu',
    nodes: [{ providerID: gpuNodes[0]!.providerID, name: gpuNodes[0]!.name }],
  });
  assert.equal(host.nodes.has(gpuNodes[0]!.name), false);
  assert.equal((await call('NodeGroupTargetSize')({ id: 'gpu' })).targetSize, 1);
});

test('bad calls get clear gRPC errors and change nothing', async () => {
  const before = cloud.targetSize('gpu');
  await assert.rejects(call('NodeGroupIncreaseSize')({ id: 'gpu', delta: 5 }), (err: grpc.ServiceError) => {
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err.details, /exceeds max 3/);
    return true;
  });
  await assert.rejects(call('NodeGroupIncreaseSize')({ id: 'nope', delta: 1 }), (err: grpc.ServiceError) => {
    assert.equal(err.code, grpc.status.NOT_FOUND);
    assert.match(err.details, /node group "nope" does not exist/);
    return true;
  });
  await assert.rejects(
    call('NodeGroupDecreaseTargetSize')({ id: 'gpu', delta: -1 }),
    /only 0 node\(s\) not yet registered/,
  );
  await assert.rejects(
    call('NodeGroupDeleteNodes')({ id: 'gpu', nodes: [{ providerID: 'kiln://cpu/cpu-1', name: 'cpu-1' }] }),
    /does not belong to node group gpu/,
  );
  await assert.rejects(
    call('NodeGroupGetOptions')({ id: 'gpu' }),
    (err: grpc.ServiceError) => err.code === grpc.status.UNIMPLEMENTED,
  );
  assert.equal(cloud.targetSize('gpu'), before);
  assert.ok(host.nodes.has('cpu-1'));
});

test('stock-outs: "reject" fails the scale-up call; "fail-boot" leaves instances with an out-of-resources error', async () => {
  const before = cloud.targetSize('gpu');
  cloud.setStockOut('gpu', 'reject');
  await assert.rejects(call('NodeGroupIncreaseSize')({ id: 'gpu', delta: 1 }), (err: grpc.ServiceError) => {
    assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(err.details, /out of stock/);
    return true;
  });
  assert.equal(cloud.targetSize('gpu'), before);

  cloud.setStockOut('gpu', 'fail-boot');
  const failed = new Promise<void>((resolve) => {
    const off = cloud.on((e) => {
      if (e.type === 'boot-failed') {
        off();
        resolve();
      }
    });
  });
  await call('NodeGroupIncreaseSize')({ id: 'gpu', delta: 1 });
  await failed;
  const instances = (await call('NodeGroupNodes')({ id: 'gpu' })).instances as {
    id: string;
    status: { instanceState: string; errorInfo?: { errorCode: string; instanceErrorClass: number } };
  }[];
  const broken = instances.find((i) => i.status.errorInfo?.errorCode);
  assert.ok(broken, JSON.stringify(instances));
  assert.equal(broken.status.errorInfo!.errorCode, 'OUT_OF_STOCK');
  assert.equal(broken.status.errorInfo!.instanceErrorClass, 1);
  assert.equal(broken.status.instanceState, 'instanceCreating');
  // CA cleans such instances up by deleting them; the target drops back.
  await call('NodeGroupDeleteNodes')({ id: 'gpu', nodes: [{ providerID: broken.id }] });
  assert.equal(cloud.targetSize('gpu'), before);
  cloud.setStockOut('gpu', false);
});

test('pool specs with bad fields are refused, naming the field', () => {
  assert.throws(() => validatePools({}), /pools: expected a JSON array/);
  assert.throws(
    () => validatePools([{ id: 'Bad_Id', max: 1 }]),
    /pools\[0\]\.id: expected a lowercase DNS label/,
  );
  assert.throws(() => validatePools([{ id: 'a', max: 0 }]), /pools\[0\]\.max: expected a whole number >= 1/);
  assert.throws(() => validatePools([{ id: 'a', min: 3, max: 2 }]), /pools\[0\]\.max: expected >= min \(3\)/);
  assert.throws(
    () =>
      validatePools([
        { id: 'a', max: 1 },
        { id: 'a', max: 1 },
      ]),
    /pools\[1\]\.id: "a" is used by another pool/,
  );
  assert.throws(
    () => validatePools([{ id: 'a', max: 1, template: { memory: 'lots' } }]),
    /pools\[0\]\.template\.memory: expected a Kubernetes quantity/,
  );
  assert.throws(
    () => validatePools([{ id: 'a', max: 1, template: { gpus: 1.5 } }]),
    /pools\[0\]\.template\.gpus: expected a whole number >= 0/,
  );
  assert.throws(() => validatePools([{ id: 'a', max: 1, bootDelayMs: -1 }]), /pools\[0\]\.bootDelayMs/);
});

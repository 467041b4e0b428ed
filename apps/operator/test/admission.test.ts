// Gang admission against cluster views built from plain objects (the same shapes the caches hold).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrainingJob } from '@kiln/spec';
import type { V1Node, V1Pod, V1PriorityClass } from '@kubernetes/client-node';
import { type ClusterView, elasticTarget, keyOf, planAdmission } from '../src/admission.js';
import { freeRoom, podDemand } from '../src/capacity.js';

const node = (
  name: string,
  gpus: number,
  extra: Partial<V1Node['spec']> = {},
  labels: Record<string, string> = {},
): V1Node => ({
  metadata: { name, labels },
  spec: extra,
  status: {
    allocatable: { cpu: '8', memory: '32Gi', 'nvidia.com/gpu': String(gpus), pods: '110' },
    conditions: [{ type: 'Ready', status: 'True' }],
  },
});

let seq = 0;
const job = (
  name: string,
  workers: number,
  gpus: number,
  extra: Partial<TrainingJob['spec']> = {},
  phase?: string,
): TrainingJob =>
  ({
    apiVersion: 'kiln.dev/v1alpha1',
    kind: 'TrainingJob',
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      creationTimestamp: new Date(1_700_000_000_000 + seq++ * 1000).toISOString(),
    },
    spec: {
      image: 'x',
      command: ['x'],
      workers,
      resources: { limits: { 'nvidia.com/gpu': gpus, cpu: '1' } },
      ...extra,
    },
    status: phase ? { phase } : undefined,
  }) as unknown as TrainingJob;

const pod = (owner: TrainingJob, nodeName: string, gpus: number, phase = 'Running'): V1Pod => ({
  metadata: {
    name: `${owner.metadata.name}-${Math.random()}`,
    namespace: 'ns',
    ownerReferences: [
      {
        uid: owner.metadata.uid!,
        kind: 'TrainingJob',
        name: owner.metadata.name,
        apiVersion: 'kiln.dev/v1alpha1',
      },
    ],
  },
  spec: { nodeName, containers: [{ name: 'c', resources: { limits: { 'nvidia.com/gpu': String(gpus) } } }] },
  status: { phase },
});

function view(
  jobs: TrainingJob[],
  nodes: V1Node[],
  pods: V1Pod[] = [],
  reserved: Record<string, number> = {},
  priorityClasses: V1PriorityClass[] = [],
): ClusterView {
  return {
    jobs,
    nodes,
    pods,
    priorityClasses,
    podsOf: (j) => pods.filter((p) => p.metadata?.ownerReferences?.[0]?.uid === j.metadata.uid),
    reserved: (k) => reserved[k],
  };
}

test('two 3-GPU gangs on 4 GPUs: the older is admitted whole, the younger queued with the shortage', () => {
  const a = job('a', 3, 1);
  const b = job('b', 3, 1);
  const plan = planAdmission(view([b, a], [node('n1', 2), node('n2', 2)]));
  assert.equal(plan.get(keyOf(a))?.workers, 3);
  assert.equal(plan.get(keyOf(b))?.workers, 0);
  assert.equal(plan.get(keyOf(b))?.reason, 'InsufficientCapacity');
  assert.match(plan.get(keyOf(b))!.message, /nvidia\.com\/gpu: 3 wanted, 1 free/);
});

test('an admitted job holds its room before its pods exist, and frees it when they finish', () => {
  const a = job('a', 3, 1, {}, 'Starting');
  const b = job('b', 3, 1);
  const nodes = [node('n1', 2), node('n2', 2)];
  assert.equal(planAdmission(view([a, b], nodes, [], { [keyOf(a)]: 3 })).get(keyOf(b))?.workers, 0);
  const bound = [pod(a, 'n1', 1), pod(a, 'n1', 1), pod(a, 'n2', 1)];
  assert.equal(planAdmission(view([a, b], nodes, bound)).get(keyOf(b))?.workers, 0);
  const done = bound.map((p) => ({ ...p, status: { phase: 'Succeeded' } }));
  const finished = { ...a, status: { phase: 'Succeeded' } } as TrainingJob;
  assert.equal(planAdmission(view([finished, b], nodes, done)).get(keyOf(b))?.workers, 3);
});

test('strict order: a job that fits waits behind an older one that does not', () => {
  const big = job('big', 4, 2);
  const small = job('small', 1, 1);
  const plan = planAdmission(view([big, small], [node('n1', 2), node('n2', 2)]));
  assert.equal(plan.get(keyOf(big))?.workers, 0);
  assert.equal(plan.get(keyOf(small))?.reason, 'WaitingInLine');
});

test('with capacity provisioning, a job behind that does not fit what is left asks for its own nodes; one that fits waits its turn', () => {
  const big = job('big', 4, 2);
  const small = job('small', 1, 1);
  const wide = job('wide', 3, 2);
  const asking = { provisioned: () => false };
  const plan = planAdmission(view([big, small, wide], [node('n1', 2), node('n2', 2)]), Date.now(), asking);
  assert.equal(plan.get(keyOf(big))?.reason, 'InsufficientCapacity');
  assert.equal(plan.get(keyOf(small))?.reason, 'WaitingInLine');
  assert.equal(plan.get(keyOf(wide))?.reason, 'InsufficientCapacity');
  assert.match(plan.get(keyOf(wide))!.message, /3 workers do not fit/);
  assert.equal(plan.get(keyOf(wide))?.workers, 0);
  // Nodes booked by the autoscaler for a job behind: that job goes first, the one ahead gets no room there.
  const first = job('first', 2, 2);
  const second = job('second', 2, 2);
  const booked = { provisioned: (j: TrainingJob) => j === second };
  const both = planAdmission(view([first, second], [node('n1', 2), node('n2', 2)]), Date.now(), booked);
  assert.equal(both.get(keyOf(second))?.workers, 2);
  assert.equal(both.get(keyOf(first))?.reason, 'InsufficientCapacity');
});

test('node selectors, taints and unready nodes are honoured', () => {
  const tainted = node('t', 4, { taints: [{ key: 'gpu', value: 'a100', effect: 'NoSchedule' }] });
  const unready = node('u', 4);
  unready.status!.conditions = [{ type: 'Ready', status: 'False' }];
  const labelled = node('l', 1, {}, { pool: 'x' });
  const plain = job('plain', 1, 1);
  const tolerant = job('tolerant', 2, 1, {
    scheduling: { tolerations: [{ key: 'gpu', operator: 'Exists' }] } as never,
  });
  const picky = job('picky', 2, 1, { scheduling: { nodeSelector: { pool: 'x' } } as never });
  assert.equal(planAdmission(view([plain], [tainted, unready])).get(keyOf(plain))?.workers, 0);
  assert.equal(planAdmission(view([tolerant], [tainted])).get(keyOf(tolerant))?.workers, 2);
  assert.equal(planAdmission(view([picky], [labelled, node('other', 8)])).get(keyOf(picky))?.workers, 0);
});

test('elastic jobs start with what fits (at least min) and grow only when nothing waits', () => {
  const e = job('e', 2, 1, { elastic: { minWorkers: 2, maxWorkers: 4 } });
  assert.equal(planAdmission(view([e], [node('n1', 3)])).get(keyOf(e))?.workers, 3);
  assert.equal(planAdmission(view([e], [node('n1', 1)])).get(keyOf(e))?.workers, 0);
  const running = { ...e, status: { phase: 'Running' } } as TrainingJob;
  const own = [pod(running, 'n1', 1), pod(running, 'n1', 1)];
  assert.equal(elasticTarget(view([running], [node('n1', 2), node('n2', 2)], own), running), 4);
  const waiting = job('w', 1, 1);
  assert.equal(elasticTarget(view([running, waiting], [node('n1', 2), node('n2', 2)], own), running), 0);
});

test('free room subtracts the requests of bound, unfinished pods, those being deleted included', () => {
  const a = job('a', 1, 1);
  const rooms = freeRoom(
    [node('n1', 4)],
    [
      pod(a, 'n1', 1),
      pod(a, 'n1', 2, 'Failed'),
      // The scheduler counts a terminating pod until it is gone, and so does admission.
      { ...pod(a, 'n1', 1), metadata: { deletionTimestamp: new Date() } },
    ],
  );
  assert.equal(rooms[0]!.free.get('nvidia.com/gpu'), 2);
  assert.equal(rooms[0]!.free.get('pods'), 108);
});

test("a pod's demand counts init containers, sidecars and overhead as the scheduler does", () => {
  const gpus = (n: number) => ({ limits: { 'nvidia.com/gpu': String(n) } });
  const demand = podDemand({
    spec: {
      containers: [{ name: 'main', resources: gpus(1) }],
      initContainers: [
        { name: 'sidecar', restartPolicy: 'Always', resources: gpus(1) },
        // Runs after the sidecar started, so its step holds 3 + 1.
        { name: 'prepare', resources: gpus(3) },
      ],
      overhead: { cpu: '250m' },
    },
  });
  assert.equal(demand.get('nvidia.com/gpu'), 4);
  assert.equal(demand.get('cpu'), 0.25);
  assert.equal(demand.get('pods'), 1);
  // A foreign pod whose init container holds a node's GPUs leaves no room for a worker there.
  const a = job('a', 1, 1);
  const holder: V1Pod = {
    metadata: { name: 'foreign', namespace: 'ns' },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'c' }],
      initContainers: [{ name: 'i', resources: gpus(2) }],
    },
    status: { phase: 'Pending' },
  };
  assert.equal(planAdmission(view([a], [node('n1', 2)], [holder])).get(keyOf(a))?.workers, 0);
});

const priorityClass = (name: string, value: number, globalDefault = false): V1PriorityClass => ({
  metadata: { name },
  value,
  globalDefault,
});

test('waiting jobs are admitted by priority, then restarting first, then oldest first', () => {
  const classes = [priorityClass('low', 10), priorityClass('high', 1000)];
  const old = job('old', 3, 1, { scheduling: { priorityClassName: 'low' } as never });
  const plain = job('plain', 3, 1);
  const urgent = job('urgent', 3, 1, { scheduling: { priorityClassName: 'high' } as never });
  const nodes = [node('n1', 2), node('n2', 2)];
  const plan = planAdmission(view([old, plain, urgent], nodes, [], {}, classes));
  assert.equal(plan.get(keyOf(urgent))?.workers, 3);
  assert.equal(plan.get(keyOf(old))?.reason, 'InsufficientCapacity');
  assert.equal(plan.get(keyOf(plain))?.reason, 'WaitingInLine');
  assert.match(plan.get(keyOf(plain))!.message, /waiting for old/);
  // Equal priority: a restarting job goes first, then the oldest.
  const restarting = job(
    'restarting',
    3,
    1,
    { scheduling: { priorityClassName: 'low' } as never },
    'Restarting',
  );
  const again = planAdmission(view([old, restarting], nodes, [], {}, classes));
  assert.equal(again.get(keyOf(restarting))?.workers, 3);
  assert.equal(again.get(keyOf(old))?.workers, 0);
  // No name: the globalDefault class (the lowest of several), else 0.
  const defaults = [...classes, priorityClass('d1', 500, true), priorityClass('d2', 20, true)];
  const byDefault = planAdmission(view([old, plain], nodes, [], {}, defaults));
  assert.equal(byDefault.get(keyOf(plain))?.workers, 3, 'default 20 outranks low 10');
});

test('a job naming a missing PriorityClass waits with an error naming the field, blocking no one', () => {
  const missing = job('missing', 1, 1, { scheduling: { priorityClassName: 'gold' } as never });
  const after = job('after', 1, 1);
  const plan = planAdmission(view([missing, after], [node('n1', 2)]));
  assert.equal(plan.get(keyOf(missing))?.workers, 0);
  assert.equal(plan.get(keyOf(missing))?.reason, 'PriorityClassNotFound');
  assert.match(
    plan.get(keyOf(missing))!.message,
    /spec\.scheduling\.priorityClassName: no PriorityClass named "gold"/,
  );
  assert.equal(plan.get(keyOf(after))?.workers, 1);
});

test('a job released by its gang timeout sits out that long, blocking no one, then queues again', () => {
  const released = job('released', 2, 1, { scheduling: { gangTimeoutSeconds: 60 } as never }, 'Queued');
  const at = Date.parse('2026-01-01T00:00:00Z');
  released.status!.conditions = [
    {
      type: 'Queued',
      status: 'True',
      reason: 'GangTimeout',
      message: 'not all 2 workers were placed within 60 s',
      lastTransitionTime: new Date(at).toISOString(),
    },
  ];
  const younger = job('younger', 2, 1);
  const nodes = [node('n1', 2)];
  const during = planAdmission(view([released, younger], nodes), at + 20_000);
  assert.equal(during.get(keyOf(released))?.reason, 'GangTimeout');
  assert.equal(during.get(keyOf(released))?.retryInMs, 40_000);
  assert.equal(during.get(keyOf(younger))?.workers, 2, 'the room goes to the job behind it');
  const later = planAdmission(view([released, younger], nodes), at + 60_000);
  assert.equal(later.get(keyOf(released))?.workers, 2, 'then it is first in line again');
  assert.equal(later.get(keyOf(younger))?.reason, 'InsufficientCapacity');
});

// What fits where: free capacity per node (allocatable minus the requests of pods bound there) and a
// first-fit placement of identical workers, honouring node selectors, taints and readiness. The
// scheduler still places the pods; this lets the operator admit a gang only when all of it fits, so two
// half-placed gangs never hold each other's resources.

import { parseQuantity } from '@kiln/spec';
import type { V1Node, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';

export type ResourceMap = Map<string, number>;

export interface NodeRoom {
  name: string;
  labels: Record<string, string>;
  taints: V1Taint[];
  free: ResourceMap;
}

function toMap(list: Record<string, string | number> | undefined): ResourceMap {
  const out: ResourceMap = new Map();
  for (const [k, v] of Object.entries(list ?? {})) out.set(k, parseQuantity(v));
  return out;
}

/** A pod's requests: `requests`, else `limits` (as the apiserver defaults them), plus one pod slot. */
export function demandOf(
  resources:
    | { requests?: Record<string, string | number>; limits?: Record<string, string | number> }
    | undefined,
): ResourceMap {
  const out = toMap(resources?.limits);
  for (const [k, v] of toMap(resources?.requests)) out.set(k, v);
  out.set('pods', 1);
  return out;
}

/**
 * What the scheduler counts for a pod (Kubernetes' PodRequests): the larger of its containers' sum and
 * its heaviest init step (an init container plus the sidecars started before it), sidecars (init
 * containers with restartPolicy Always) added to the sum, plus the RuntimeClass overhead.
 */
export function podDemand(pod: V1Pod): ResourceMap {
  const add = (to: ResourceMap, from: ResourceMap) => {
    for (const [k, v] of from) if (k !== 'pods') to.set(k, (to.get(k) ?? 0) + v);
  };
  const max = (to: ResourceMap, from: ResourceMap) => {
    for (const [k, v] of from) if (k !== 'pods') to.set(k, Math.max(to.get(k) ?? 0, v));
  };
  const running: ResourceMap = new Map();
  for (const c of pod.spec?.containers ?? []) add(running, demandOf(c.resources as never));
  const sidecars: ResourceMap = new Map();
  const initPeak: ResourceMap = new Map();
  for (const c of pod.spec?.initContainers ?? []) {
    const own = demandOf(c.resources as never);
    if (c.restartPolicy === 'Always') {
      add(running, own);
      add(sidecars, own);
      max(initPeak, sidecars);
    } else {
      const step = new Map(sidecars);
      add(step, own);
      max(initPeak, step);
    }
  }
  max(running, initPeak);
  add(running, toMap(pod.spec?.overhead as Record<string, string> | undefined));
  running.set('pods', 1);
  return running;
}

function nodeReady(node: V1Node): boolean {
  if (node.spec?.unschedulable || node.metadata?.deletionTimestamp) return false;
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Pods that hold resources on their node: bound and not finished. A pod being deleted still holds them
 * until it is gone, as the scheduler counts it (its process may run out a long grace period).
 */
export function holdsResources(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return !!pod.spec?.nodeName && phase !== 'Succeeded' && phase !== 'Failed';
}

export function freeRoom(nodes: V1Node[], pods: V1Pod[]): NodeRoom[] {
  const rooms = new Map<string, NodeRoom>();
  for (const node of nodes) {
    if (!nodeReady(node)) continue;
    const name = node.metadata!.name!;
    rooms.set(name, {
      name,
      labels: node.metadata?.labels ?? {},
      taints: node.spec?.taints ?? [],
      free: toMap((node.status?.allocatable ?? node.status?.capacity) as Record<string, string>),
    });
  }
  for (const pod of pods) {
    if (!holdsResources(pod)) continue;
    const room = rooms.get(pod.spec!.nodeName!);
    if (!room) continue;
    for (const [k, v] of podDemand(pod)) room.free.set(k, (room.free.get(k) ?? 0) - v);
  }
  return [...rooms.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function tolerates(tolerations: V1Toleration[], taint: V1Taint): boolean {
  if (taint.effect === 'PreferNoSchedule') return true;
  return tolerations.some(
    (t) =>
      (!t.effect || t.effect === taint.effect) &&
      (t.key === undefined || t.key === '' ? t.operator === 'Exists' : t.key === taint.key) &&
      (t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '')),
  );
}

export interface Placement {
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
}

function fitsOn(room: NodeRoom, demand: ResourceMap, placement: Placement): boolean {
  for (const [k, v] of Object.entries(placement.nodeSelector ?? {})) if (room.labels[k] !== v) return false;
  if (!room.taints.every((t) => tolerates(placement.tolerations ?? [], t))) return false;
  for (const [k, v] of demand) {
    if (v <= 0) continue;
    // A node that does not list a resource (a GPU on a CPU node) has none of it; pods slots default to 110.
    const free = room.free.get(k) ?? (k === 'pods' ? 110 : 0);
    if (free + 1e-9 < v) return false;
  }
  return true;
}

/**
 * Places up to `count` workers first-fit, taking their resources from `rooms`; returns how many were
 * placed. With `atomic`, nothing is taken unless all `count` fit.
 */
export function place(
  rooms: NodeRoom[],
  demand: ResourceMap,
  count: number,
  placement: Placement,
  atomic: boolean,
): number {
  const taken: Array<{ room: NodeRoom }> = [];
  for (let i = 0; i < count; i++) {
    const room = rooms.find((r) => fitsOn(r, demand, placement));
    if (!room) break;
    for (const [k, v] of demand) room.free.set(k, (room.free.get(k) ?? (k === 'pods' ? 110 : 0)) - v);
    taken.push({ room });
  }
  if (atomic && taken.length < count) {
    for (const { room } of taken) for (const [k, v] of demand) room.free.set(k, (room.free.get(k) ?? 0) + v);
    return 0;
  }
  return taken.length;
}

/** What is short for one more worker, for the Queued reason, e.g. "nvidia.com/gpu: 3 wanted, 1 free". */
export function shortage(rooms: NodeRoom[], demand: ResourceMap, count: number): string {
  const parts: string[] = [];
  for (const [k, v] of demand) {
    if (k === 'pods' || v <= 0) continue;
    const free = rooms.reduce((s, r) => s + Math.max(0, r.free.get(k) ?? 0), 0);
    if (free < v * count) parts.push(`${k}: ${fmt(v * count)} wanted, ${fmt(free)} free`);
  }
  return parts.length ? parts.join('; ') : `no ${rooms.length ? 'single node' : 'ready node'} fits a worker`;
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

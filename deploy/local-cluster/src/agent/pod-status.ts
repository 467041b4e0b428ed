// A pod's status as the kubelet reports it, computed from its containers' states alone (no processes, no
// API): the phase (a port of the kubelet's getPhase, pkg/kubelet/kubelet_pods.go), the conditions with
// their transition times, and the container statuses.
import type { V1ContainerState, V1ContainerStatus, V1PodCondition } from '@kubernetes/client-node';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** What the phase reads of a container's status; undefined: no status reported yet. */
export interface ContainerStateView {
  state?: V1ContainerState;
  lastState?: V1ContainerState;
}

/**
 * The kubelet's getPhase for regular (run-to-completion) init containers. `terminal`: the pod is being
 * stopped for good, so containers that have all stopped are not restarted whatever the restart policy.
 */
export function podPhase(input: {
  restartPolicy?: string;
  initContainers: readonly (ContainerStateView | undefined)[];
  containers: readonly (ContainerStateView | undefined)[];
  terminal: boolean;
}): PodPhase {
  const policy = input.restartPolicy ?? 'Always';
  let pendingInit = 0;
  let failedInit = 0;
  for (const s of input.initContainers) {
    if (s?.state?.running) pendingInit++;
    else if (s?.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if (s?.state?.waiting) {
      const last = s.lastState?.terminated;
      if (!last) pendingInit++;
      else if (last.exitCode !== 0) failedInit++;
    } else pendingInit++;
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of input.containers) {
    if (s?.state?.running) running++;
    else if (s?.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s?.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  if (failedInit > 0 && policy === 'Never') return 'Failed';
  if (pendingInit > 0 || waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (input.terminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    return policy === 'Never' ? 'Failed' : 'Running';
  }
  return 'Pending';
}

/** One container as the agent tracks it. */
export interface ContainerView {
  name: string;
  image?: string;
  init: boolean;
  pid?: number;
  restartCount: number;
  state: V1ContainerState;
  lastState?: V1ContainerState;
  /** result of the readiness probe; undefined when the container has none the agent runs */
  probeReady?: boolean;
}

const containerReady = (c: ContainerView) => c.state.running !== undefined && c.probeReady !== false;

export const containerStatus = (c: ContainerView): V1ContainerStatus => ({
  name: c.name,
  image: c.image ?? '',
  imageID: '',
  containerID: c.pid ? `kiln://${c.pid}` : c.state.terminated?.containerID,
  ready: containerReady(c) && !c.init,
  started: c.state.running !== undefined,
  restartCount: c.restartCount,
  state: c.state,
  lastState: c.lastState ?? {},
});

/** Every main container running and, where it has a readiness probe the agent runs, passing it. */
export function podReady(phase: PodPhase, containers: readonly ContainerView[]): boolean {
  return phase === 'Running' && containers.every((c) => c.init || containerReady(c));
}

/**
 * Pod conditions; a condition keeps its lastTransitionTime while its status stays the same, so
 * `transitions` (type → last status and time) is carried from one computation to the next.
 */
export function podConditions(input: {
  phase: PodPhase;
  ready: boolean;
  initialized: boolean;
  disruption?: { reason: string; message: string };
  transitions: Map<string, { status: string; time: string }>;
  now: string;
}): V1PodCondition[] {
  const { ready, initialized, transitions } = input;
  const finished = input.phase === 'Succeeded' || input.phase === 'Failed';
  const condition = (type: string, ok: boolean, reason?: string, message?: string): V1PodCondition => {
    const status = ok ? 'True' : 'False';
    const prev = transitions.get(type);
    const time = prev && prev.status === status ? prev.time : input.now;
    transitions.set(type, { status, time });
    return {
      type,
      status,
      lastTransitionTime: time as unknown as Date,
      lastProbeTime: null as unknown as Date,
      reason,
      message,
    };
  };
  const conditions = [
    condition('PodReadyToStartContainers', true),
    condition('Initialized', initialized, initialized ? undefined : 'ContainersNotInitialized'),
    condition('Ready', ready, ready ? undefined : finished ? 'PodCompleted' : 'ContainersNotReady'),
    condition('ContainersReady', ready, ready ? undefined : 'ContainersNotReady'),
    condition('PodScheduled', true),
  ];
  if (input.disruption) {
    conditions.push(condition('DisruptionTarget', true, input.disruption.reason, input.disruption.message));
  }
  return conditions;
}

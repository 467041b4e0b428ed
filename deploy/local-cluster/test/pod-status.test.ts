// The node agent's pod phase against the kubelet's own cases: TestPodPhaseWithRestartAlways,
// ...AlwaysInitContainers, ...Never, ...NeverInitContainers and ...OnFailure in kubernetes/kubernetes
// pkg/kubelet/kubelet_pods_test.go (getPhase), with the kubelet's status helpers (runningState,
// stoppedState, succeededState, failedState, waitingState, waitingStateWithLastTermination,
// waitingStateWithNonZeroTermination). Restartable (sidecar) init containers are left out: the agent
// runs every init container to completion.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ContainerStateView,
  containerStatus,
  type PodPhase,
  podConditions,
  podPhase,
  podReady,
} from '../src/agent/pod-status.js';

const runningState: ContainerStateView = { state: { running: {} } };
const stoppedState: ContainerStateView = { state: { terminated: { exitCode: 0 } } };
const succeededState: ContainerStateView = { state: { terminated: { exitCode: 0 } } };
const failedState: ContainerStateView = { state: { terminated: { exitCode: -1 } } };
const waitingState: ContainerStateView = { state: { waiting: {} } };
const waitingStateWithLastTermination: ContainerStateView = {
  state: { waiting: {} },
  lastState: { terminated: { exitCode: 0 } },
};
const waitingStateWithNonZeroTermination: ContainerStateView = {
  state: { waiting: {} },
  lastState: { terminated: { exitCode: -1 } },
};
const none = undefined;

type Case = [
  test: string,
  init: (ContainerStateView | undefined)[],
  main: (ContainerStateView | undefined)[],
  terminal: boolean,
  phase: PodPhase,
];

function check(restartPolicy: string, cases: Case[]) {
  for (const [test, initContainers, containers, terminal, phase] of cases) {
    it(test, () => assert.equal(podPhase({ restartPolicy, initContainers, containers, terminal }), phase));
  }
}

describe('pod phase, restartPolicy Always (TestPodPhaseWithRestartAlways)', () => {
  check('Always', [
    ['waiting', [], [none, none], false, 'Pending'],
    ['all running', [], [runningState, runningState], false, 'Running'],
    ['all stopped with restart always', [], [stoppedState, stoppedState], false, 'Running'],
    [
      'all succeeded with restart always, but the pod is terminal',
      [],
      [succeededState, succeededState],
      true,
      'Succeeded',
    ],
    [
      'all stopped with restart always, but the pod is terminal',
      [],
      [succeededState, failedState],
      true,
      'Failed',
    ],
    ['mixed state #1 with restart always', [], [runningState, stoppedState], false, 'Running'],
    ['mixed state #2 with restart always', [], [runningState, none], false, 'Pending'],
    ['mixed state #3 with restart always', [], [runningState, waitingState], false, 'Pending'],
    [
      'backoff crashloop container with restart always',
      [],
      [runningState, waitingStateWithLastTermination],
      false,
      'Running',
    ],
  ]);
});

describe('pod phase, restartPolicy Always, init containers (TestPodPhaseWithRestartAlwaysInitContainers)', () => {
  check('Always', [
    ['empty, waiting', [none], [none, none], false, 'Pending'],
    ['init container running', [runningState], [none, none], false, 'Pending'],
    ['init container terminated non-zero', [failedState], [none, none], false, 'Pending'],
    [
      'init container waiting, terminated zero',
      [waitingStateWithLastTermination],
      [none, none],
      false,
      'Pending',
    ],
    [
      'init container waiting, terminated non-zero',
      [waitingStateWithNonZeroTermination],
      [none, none],
      false,
      'Pending',
    ],
    ['init container waiting, not terminated', [waitingState], [none, none], false, 'Pending'],
    ['init container succeeded', [succeededState], [runningState, runningState], false, 'Running'],
  ]);
});

describe('pod phase, restartPolicy Never (TestPodPhaseWithRestartNever)', () => {
  check('Never', [
    ['waiting', [], [none, none], false, 'Pending'],
    ['all running with restart never', [], [runningState, runningState], false, 'Running'],
    ['all succeeded with restart never', [], [succeededState, succeededState], false, 'Succeeded'],
    ['all failed with restart never', [], [failedState, failedState], false, 'Failed'],
    ['mixed state #1 with restart never', [], [runningState, succeededState], false, 'Running'],
    ['mixed state #2 with restart never', [], [runningState, none], false, 'Pending'],
    ['mixed state #3 with restart never', [], [runningState, waitingState], false, 'Pending'],
  ]);
});

describe('pod phase, restartPolicy Never, init containers (TestPodPhaseWithRestartNeverInitContainers)', () => {
  check('Never', [
    ['empty, waiting', [none], [none, none], false, 'Pending'],
    ['init container running', [runningState], [none, none], false, 'Pending'],
    ['init container terminated non-zero', [failedState], [none, none], false, 'Failed'],
    [
      'init container waiting, terminated zero',
      [waitingStateWithLastTermination],
      [none, none],
      false,
      'Pending',
    ],
    [
      'init container waiting, terminated non-zero',
      [waitingStateWithNonZeroTermination],
      [none, none],
      false,
      'Failed',
    ],
    ['init container waiting, not terminated', [waitingState], [none, none], false, 'Pending'],
    ['init container succeeded', [succeededState], [runningState, runningState], false, 'Running'],
  ]);
});

describe('pod phase, restartPolicy OnFailure (TestPodPhaseWithRestartOnFailure)', () => {
  check('OnFailure', [
    ['waiting', [], [none, none], false, 'Pending'],
    ['all running with restart onfailure', [], [runningState, runningState], false, 'Running'],
    ['all succeeded with restart onfailure', [], [succeededState, succeededState], false, 'Succeeded'],
    ['all failed with restart onfailure', [], [failedState, failedState], false, 'Running'],
    ['mixed state #1 with restart onfailure', [], [runningState, succeededState], false, 'Running'],
    ['mixed state #2 with restart onfailure', [], [runningState, none], false, 'Pending'],
    ['mixed state #3 with restart onfailure', [], [runningState, waitingState], false, 'Pending'],
    [
      'backoff crashloop container with restart onfailure',
      [],
      [runningState, waitingStateWithLastTermination],
      false,
      'Running',
    ],
  ]);
});

describe('pod conditions and container statuses', () => {
  it('keeps a condition’s transition time while its status holds, and moves it when it flips', () => {
    const transitions = new Map<string, { status: string; time: string }>();
    const at = (now: string, ready: boolean, phase: PodPhase = 'Running') =>
      podConditions({ phase, ready, initialized: true, transitions, now });
    const first = at('2026-01-01T00:00:00Z', false);
    const ready = (cs: ReturnType<typeof at>) => cs.find((c) => c.type === 'Ready')!;
    assert.deepEqual([ready(first).status, ready(first).reason], ['False', 'ContainersNotReady']);
    const second = at('2026-01-01T00:00:05Z', true);
    assert.equal(ready(second).lastTransitionTime, '2026-01-01T00:00:05Z');
    assert.equal(
      second.find((c) => c.type === 'PodScheduled')!.lastTransitionTime,
      '2026-01-01T00:00:00Z',
      'unchanged status keeps its time',
    );
    const done = at('2026-01-01T00:00:09Z', false, 'Succeeded');
    assert.equal(ready(done).reason, 'PodCompleted');
    const disrupted = podConditions({
      phase: 'Failed',
      ready: false,
      initialized: true,
      disruption: { reason: 'TerminationByKubelet', message: 'node n1 was removed' },
      transitions,
      now: '2026-01-01T00:00:10Z',
    });
    assert.equal(disrupted.find((c) => c.type === 'DisruptionTarget')?.reason, 'TerminationByKubelet');
  });

  it('a pod is ready when it runs and every main container runs', () => {
    const c = (state: ContainerStateView['state'], init = false) => ({
      name: 'c',
      init,
      restartCount: 0,
      state: state ?? {},
    });
    assert.equal(podReady('Running', [c({ running: {} }), c({ terminated: { exitCode: 0 } }, true)]), true);
    assert.equal(
      podReady('Running', [c({ running: {} }), c({ waiting: { reason: 'CrashLoopBackOff' } })]),
      false,
    );
    assert.equal(podReady('Pending', [c({ running: {} })]), false);
    const status = containerStatus({ ...c({ running: {} }), pid: 42, image: 'img' });
    assert.deepEqual([status.containerID, status.ready, status.started], ['kiln://42', true, true]);
  });
});

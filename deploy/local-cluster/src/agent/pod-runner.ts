// One bound pod: runs its init containers in order, then its containers, each as a host process with the
// pod's environment, working directory and loopback address; reports status the way the kubelet does
// (phase, container states, exit codes, reasons, conditions); honours restartPolicy with back-off; and
// stops processes on deletion with SIGTERM, then SIGKILL once the grace period has passed.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { isConflict, isNotFound } from '@kiln/kube';
import { ENV } from '@kiln/spec';
import {
  type CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Container,
  type V1ContainerState,
  type V1Pod,
} from '@kubernetes/client-node';
import { exited, spawnManaged, terminate } from '../process.js';
import { type ImageMap, type ImageRoot, mapImagePath, resolveImage } from './images.js';
import { apiLookup, containerEnv, EnvError, expandRefs } from './pod-env.js';
import { containerStatus, type PodPhase, podConditions, podPhase, podReady } from './pod-status.js';
import { hasReadinessProbe, type Prober, startReadinessProbe } from './probes.js';
import { writeServiceAccountCredentials } from './service-account.js';
import { ConfigError, type Mount, mapMounted, prepareVolumes } from './volumes.js';

export interface PodContext {
  core: CoreV1Api;
  nodeName: string;
  hostIP: string;
  podIP: string;
  podDir: string;
  images: ImageMap;
  hostsFile: string;
  dnsHook: string;
  apiserverPort: number;
  /** PEM of the CA that signed the apiserver's serving certificate (for the pod's service-account kubeconfig) */
  apiserverCa: string;
  /** ready/running state changed (DNS records depend on it) */
  onChange(): void;
  /** the pod is finished with: deleted from the API or stopped by the agent */
  onGone(): void;
  log(message: string): void;
}

interface ContainerRun {
  spec: V1Container;
  init: boolean;
  child?: ChildProcess;
  restartCount: number;
  state: V1ContainerState;
  lastState?: V1ContainerState;
  logFiles: string[];
  retry?: NodeJS.Timeout;
  prober?: Prober;
  probeReady?: boolean;
}

const now = () => new Date().toISOString();
const grace = (seconds: number | undefined) => Math.max(0, seconds ?? 30) * 1000;
const signalNumbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

export class PodRunner {
  pod: V1Pod;
  readonly containers = new Map<string, ContainerRun>();
  private phase: PodPhase = 'Pending';
  private reason?: string;
  private message?: string;
  private disruption?: { reason: string; message: string };
  private readonly startTime = now();
  private readonly transitions = new Map<string, { status: string; time: string }>();
  private stopping = false;
  private publishing?: Promise<void>;
  private dirty = false;
  private initDone = false;
  private mounts: Mount[] = [];
  private serviceAccountKubeconfig?: string;

  constructor(
    private readonly ctx: PodContext,
    pod: V1Pod,
  ) {
    this.pod = pod;
    for (const spec of pod.spec?.initContainers ?? [])
      this.containers.set(spec.name, this.newRun(spec, true));
    for (const spec of pod.spec?.containers ?? []) this.containers.set(spec.name, this.newRun(spec, false));
  }

  get namespace(): string {
    return this.pod.metadata?.namespace ?? 'default';
  }

  get podIP(): string {
    return this.ctx.podIP;
  }

  get name(): string {
    return this.pod.metadata?.name ?? '';
  }

  /** Every container running and passing its readiness probe, if it has one. */
  get ready(): boolean {
    return podReady(
      this.phase,
      this.mainRuns().map((run) => this.view(run)),
    );
  }

  get finished(): boolean {
    return this.phase === 'Succeeded' || this.phase === 'Failed';
  }

  logFile(container: string, previous: boolean): string | undefined {
    const files = this.containers.get(container)?.logFiles ?? [];
    return previous ? files.at(-2) : files.at(-1);
  }

  live(container: string): boolean {
    return this.containers.get(container)?.child !== undefined;
  }

  private newRun(spec: V1Container, init: boolean): ContainerRun {
    return {
      spec,
      init,
      restartCount: 0,
      state: { waiting: { reason: 'PodInitializing' } },
      logFiles: [],
    };
  }

  private mainRuns(): ContainerRun[] {
    return [...this.containers.values()].filter((c) => !c.init);
  }

  private initRuns(): ContainerRun[] {
    return [...this.containers.values()].filter((c) => c.init);
  }

  async start(): Promise<void> {
    mkdirSync(join(this.ctx.podDir, 'logs'), { recursive: true });
    this.publish();
    try {
      this.mounts = await prepareVolumes(this.pod, this.ctx.podDir, this.ctx.core);
      this.serviceAccountKubeconfig = await writeServiceAccountCredentials(
        this.ctx.core,
        this.pod,
        join(this.ctx.podDir, 'serviceaccount'),
        `https://127.0.0.1:${this.ctx.apiserverPort}`,
        this.ctx.apiserverCa,
      );
    } catch (err) {
      // e.g. an unbound claim: say why and try again, as the kubelet does.
      for (const run of this.containers.values()) {
        run.state = { waiting: { reason: 'ContainerCreating', message: (err as Error).message } };
      }
      this.publish();
      if (!this.stopping) setTimeout(() => void this.start(), 1000).unref();
      return;
    }
    this.runNextInit();
  }

  private runNextInit(): void {
    if (this.stopping) return;
    const next = this.initRuns().find((c) => !(c.state.terminated?.exitCode === 0));
    if (next) {
      void this.launch(next);
      return;
    }
    this.initDone = true;
    for (const run of this.mainRuns()) void this.launch(run);
  }

  /** Latest object from the API: starts graceful termination once it carries a deletionTimestamp. */
  update(pod: V1Pod): void {
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp && !this.stopping) {
      this.ctx.onChange();
      void this.deleteGracefully(
        pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds,
      );
    }
  }

  private async deleteGracefully(graceSeconds: number | undefined): Promise<void> {
    await this.stopAll(grace(graceSeconds));
    try {
      await this.ctx.core.deleteNamespacedPod({
        name: this.name,
        namespace: this.namespace,
        // In the body: with a DeleteOptions body the apiserver ignores the query parameters.
        body: { gracePeriodSeconds: 0, preconditions: { uid: this.pod.metadata?.uid } },
      });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err))
        this.ctx.log(`deleting pod ${this.namespace}/${this.name}: ${err}`);
    }
    this.ctx.onGone();
  }

  /** The node went away: stop like a preemption and leave the pod Failed (the kubelet's node-shutdown status). */
  async evict(graceMs: number, nodeName: string): Promise<void> {
    this.disruption = {
      reason: 'TerminationByKubelet',
      message: `node ${nodeName} was removed`,
    };
    await this.stopAll(graceMs);
    this.phase = 'Failed';
    this.reason = 'Terminated';
    this.message = `Pod was terminated because node ${nodeName} was removed (simulated preemption).`;
    this.publish();
    await this.publishing;
    this.ctx.onGone();
  }

  /** The pod object is gone from the API (force deletion): kill at once. */
  async vanish(): Promise<void> {
    await this.stopAll(0);
    this.ctx.onGone();
  }

  async stopAll(graceMs: number): Promise<void> {
    this.stopping = true;
    const runs = [...this.containers.values()];
    for (const run of runs) clearTimeout(run.retry);
    await Promise.all(runs.map((run) => this.stopContainer(run, graceMs)));
    // Exit handlers have recorded the final states by now.
    this.publish();
  }

  /**
   * A `preStop: sleep` hook first (the one preStop action the agent runs; exec and httpGet hooks are
   * not), within the grace period as the kubelet counts it, then SIGTERM and SIGKILL at the deadline.
   */
  private async stopContainer(run: ContainerRun, graceMs: number): Promise<void> {
    if (!run.child) return;
    const started = Date.now();
    const sleepMs = Math.min((run.spec.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000, graceMs);
    if (sleepMs > 0 && !run.init) await new Promise((r) => setTimeout(r, sleepMs));
    if (run.child) await terminate(run.child, Math.max(0, graceMs - (Date.now() - started)));
  }

  private async launch(run: ContainerRun): Promise<void> {
    if (this.stopping) return;
    let child: ChildProcess;
    try {
      const plan = await this.plan(run.spec);
      if (this.stopping) return;
      const logFile = join(this.ctx.podDir, 'logs', `${run.spec.name}-${run.restartCount}.log`);
      writeFileSync(logFile, '');
      child = spawnManaged({ ...plan, logFile, wholeGroup: true });
      run.logFiles.push(logFile);
    } catch (err) {
      const reason =
        err instanceof EnvError || err instanceof ConfigError
          ? 'CreateContainerConfigError'
          : 'RunContainerError';
      run.state = { waiting: { reason, message: (err as Error).message } };
      this.publish();
      run.retry = setTimeout(() => void this.launch(run), 2000);
      run.retry.unref();
      return;
    }
    run.child = child;
    const startedAt = now();
    run.state = { running: { startedAt: startedAt as unknown as Date } };
    if (!run.init && hasReadinessProbe(run.spec)) {
      run.probeReady = false;
      run.prober = startReadinessProbe(run.spec, this.ctx.podIP, (ready) => {
        run.probeReady = ready;
        this.publish();
      });
    }
    child.once('error', (err) =>
      this.ctx.log(`container ${this.namespace}/${this.name}/${run.spec.name}: ${err.message}`),
    );
    this.publish();
    await exited(child);
    run.prober?.stop();
    run.prober = undefined;
    run.child = undefined;
    const signal = child.signalCode ?? undefined;
    const exitCode = child.exitCode ?? 128 + (signalNumbers[signal ?? ''] ?? 0);
    run.state = {
      terminated: {
        exitCode,
        signal: signal ? signalNumbers[signal] : undefined,
        reason: exitCode === 0 ? 'Completed' : 'Error',
        startedAt: startedAt as unknown as Date,
        finishedAt: now() as unknown as Date,
        containerID: `kiln://${child.pid}`,
      },
    };
    this.afterExit(run, exitCode);
  }

  private afterExit(run: ContainerRun, exitCode: number): void {
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    if (this.stopping) {
      this.publish();
      return;
    }
    if (run.init) {
      if (exitCode === 0) {
        this.publish();
        this.runNextInit();
      } else if (policy === 'Never') {
        this.publish();
      } else {
        this.restartLater(run);
      }
      return;
    }
    if (policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0)) this.restartLater(run);
    else this.publish();
  }

  private restartLater(run: ContainerRun): void {
    // The kubelet backs off 10 s doubling to 5 min; locally 1 s doubling to 10 s keeps tests quick.
    const delay = Math.min(1000 * 2 ** run.restartCount, 10_000);
    run.lastState = run.state;
    run.restartCount += 1;
    run.state = {
      waiting: {
        reason: 'CrashLoopBackOff',
        message: `back-off ${delay / 1000}s restarting failed container`,
      },
    };
    this.publish();
    run.retry = setTimeout(() => void this.launch(run), delay);
    run.retry.unref();
  }

  private mapMounted(value: string): string {
    return mapMounted(this.mounts, value);
  }

  private async plan(
    spec: V1Container,
  ): Promise<{ command: string; args: string[]; env: NodeJS.ProcessEnv; cwd: string }> {
    const image = resolveImage(this.ctx.images, spec.image ?? '');
    const scratch = join(this.ctx.podDir, 'root');
    mkdirSync(scratch, { recursive: true });
    const root = image?.root ?? scratch;
    const base: Record<string, string> = {
      PATH: [join(root, 'node_modules/.bin'), join(root, 'bin'), process.env.PATH ?? '/usr/bin:/bin'].join(
        ':',
      ),
      HOME: process.env.HOME ?? '/root',
      HOSTNAME: this.pod.spec?.hostname ?? this.name,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(this.ctx.apiserverPort),
      ...(image?.env ?? {}),
    };
    const env = await containerEnv(
      this.pod,
      spec,
      apiLookup(this.ctx.core, this.namespace),
      { podIP: this.ctx.podIP, hostIP: this.ctx.hostIP },
      base,
    );
    for (const [k, v] of Object.entries(env)) env[k] = this.mapMounted(v);
    if (this.serviceAccountKubeconfig && env.KUBECONFIG === undefined)
      env.KUBECONFIG = this.serviceAccountKubeconfig;
    // Pod identity for the DNS hook; NODE_OPTIONS keeps whatever the pod itself asked for.
    env[ENV.podIP] = this.ctx.podIP;
    env.KILN_POD_NAMESPACE = this.namespace;
    env.KILN_HOSTS_FILE = this.ctx.hostsFile;
    env.NODE_OPTIONS = `--import=${this.ctx.dnsHook}${env.NODE_OPTIONS ? ` ${env.NODE_OPTIONS}` : ''}`;

    const argv = [...(spec.command ?? image?.entrypoint ?? []), ...(spec.args ?? [])].map((a) =>
      this.mapMounted(expandRefs(a, env)),
    );
    if (argv.length === 0) {
      throw new ConfigError(
        `container "${spec.name}": no command, and image "${spec.image}" has no entrypoint in the agent's image map`,
      );
    }
    const cwd = this.workingDir(spec, image, root);
    let command = argv[0]!;
    if (isAbsolute(command)) command = mapImagePath(image, command);
    else if (command.includes('/')) command = resolvePath(cwd, command);
    return { command, args: argv.slice(1), env, cwd };
  }

  private workingDir(spec: V1Container, image: ImageRoot | undefined, root: string): string {
    if (!spec.workingDir) return root;
    const mapped = this.mapMounted(mapImagePath(image, spec.workingDir));
    if (!existsSync(mapped)) {
      throw new ConfigError(
        `container "${spec.name}": workingDir ${spec.workingDir} → ${mapped} does not exist on the host`,
      );
    }
    return mapped;
  }

  private view(run: ContainerRun) {
    return {
      name: run.spec.name,
      image: run.spec.image,
      init: run.init,
      pid: run.child?.pid,
      restartCount: run.restartCount,
      state: run.state,
      lastState: run.lastState,
      probeReady: run.probeReady,
    };
  }

  private computePhase(): void {
    if (this.finished) return;
    this.phase = podPhase({
      restartPolicy: this.pod.spec?.restartPolicy,
      initContainers: this.initRuns(),
      containers: this.mainRuns(),
      terminal: this.stopping,
    });
  }

  private statusBody() {
    this.computePhase();
    const init = this.initRuns().map((run) => this.view(run));
    const main = this.mainRuns().map((run) => this.view(run));
    return {
      status: {
        phase: this.phase,
        reason: this.reason ?? null,
        message: this.message ?? null,
        conditions: podConditions({
          phase: this.phase,
          ready: podReady(this.phase, main),
          initialized: this.initDone,
          disruption: this.disruption,
          transitions: this.transitions,
          now: now(),
        }),
        hostIP: this.ctx.hostIP,
        hostIPs: [{ ip: this.ctx.hostIP }],
        podIP: this.ctx.podIP,
        podIPs: [{ ip: this.ctx.podIP }],
        startTime: this.startTime,
        initContainerStatuses: init.map(containerStatus),
        containerStatuses: main.map(containerStatus),
      },
    };
  }

  /** Coalesced status writes: at most one in flight, and the last state always gets written. */
  publish(): void {
    this.dirty = true;
    // The phase first: DNS records follow `ready`, which reads it, and are rewritten in onChange.
    this.computePhase();
    this.ctx.onChange();
    if (this.publishing) return;
    this.publishing = (async () => {
      let failures = 0;
      while (this.dirty) {
        this.dirty = false;
        try {
          await this.ctx.core.patchNamespacedPodStatus(
            { name: this.name, namespace: this.namespace, body: this.statusBody() },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
        } catch (err) {
          if (isNotFound(err)) return;
          this.ctx.log(`status of ${this.namespace}/${this.name}: ${(err as Error).message}`);
          if (++failures >= 5) return;
          await new Promise((r) => setTimeout(r, 500));
          this.dirty = true;
        }
      }
    })().finally(() => {
      this.publishing = undefined;
    });
  }

  async settled(): Promise<void> {
    while (this.publishing) await this.publishing;
  }
}

// kiln-cluster up|down|status|run — a local cluster for development, kept running in the background.
//   up      start it (detached) unless one is running; prints the kubeconfig path and exports to use
//   down    stop it: every component and pod process ends, state directory removed
//   status  print whether it is running and where
//   run     run it in the foreground until SIGINT/SIGTERM (what `up` starts in the background)
// State lives in $KILN_CLUSTER_HOME (default ${KILN_CACHE:-~/.cache/kiln}/local-cluster): state.json,
// the kubeconfig at <home>/kubeconfig, logs under <home>/logs. Nodes: $KILN_CLUSTER_NODES as JSON
// (NodeSpec[]), default two nodes, one of them with 2 GPUs. Autoscaled pools: $KILN_CLUSTER_POOLS as JSON
// (NodePoolSpec[]; `[]` turns the Cluster Autoscaler off), default one GPU pool of 0..4 nodes.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { NodeSpec } from './agent/node-agent.js';
import { type NodePoolSpec, validatePools } from './cloud/pools.js';
import { startCluster } from './cluster.js';

const home =
  process.env.KILN_CLUSTER_HOME ??
  join(process.env.KILN_CACHE ?? join(homedir(), '.cache/kiln'), 'local-cluster');
const stateFile = join(home, 'state.json');

interface State {
  pid: number;
  kubeconfigPath: string;
  server: string;
  dir: string;
  startedMs: number;
}

function readState(): State | undefined {
  if (!existsSync(stateFile)) return undefined;
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
  try {
    process.kill(state.pid, 0);
    return state;
  } catch {
    return undefined; // stale: the runner is gone
  }
}

function defaultNodes(): NodeSpec[] {
  const raw = process.env.KILN_CLUSTER_NODES;
  if (!raw) {
    return [
      { name: 'cpu-1', cpu: '8', memory: '32Gi' },
      { name: 'gpu-1', cpu: '8', memory: '64Gi', gpus: 2, labels: { 'kiln.dev/accelerator': 'nvidia' } },
    ];
  }
  const nodes = JSON.parse(raw) as unknown;
  if (!Array.isArray(nodes))
    throw new Error('KILN_CLUSTER_NODES: expected a JSON array of {name, cpu, memory, gpus, labels}');
  return nodes as NodeSpec[];
}

function defaultPools(): NodePoolSpec[] {
  const raw = process.env.KILN_CLUSTER_POOLS;
  if (!raw) {
    return [
      { id: 'gpu-pool', min: 0, max: 4, bootDelayMs: 2000, template: { cpu: '8', memory: '64Gi', gpus: 2 } },
    ];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new Error(
      `KILN_CLUSTER_POOLS: expected a JSON array of node pools, got invalid JSON (${(err as Error).message})`,
    );
  }
  return validatePools(parsed, 'KILN_CLUSTER_POOLS');
}

async function run(): Promise<void> {
  mkdirSync(home, { recursive: true });
  const dir = join(home, 'state');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  const pools = defaultPools();
  const cluster = await startCluster({
    dir,
    nodes: defaultNodes(),
    autoscaling: pools.length > 0 ? { pools } : undefined,
  });
  const kubeconfigPath = join(home, 'kubeconfig');
  writeFileSync(kubeconfigPath, readFileSync(cluster.kubeconfigPath));
  const state: State = {
    pid: process.pid,
    kubeconfigPath,
    server: cluster.server,
    dir,
    startedMs: Date.now() - t0,
  };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  console.log(`local cluster ready in ${state.startedMs} ms at ${cluster.server}`);
  if (cluster.autoscaling) {
    const pools = cluster.autoscaling.cloud.pools.map((p) => `${p.id} (${p.min}..${p.max})`).join(', ');
    console.log(`cluster autoscaler: pools ${pools}; log ${cluster.autoscaling.autoscaler.logFile}`);
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await cluster.stop();
    rmSync(stateFile, { force: true });
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function up(): Promise<void> {
  const running = readState();
  if (!running) {
    mkdirSync(home, { recursive: true });
    rmSync(stateFile, { force: true });
    const logFile = join(home, 'cluster.log');
    const out = openSync(logFile, 'w');
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'run'], {
      detached: true,
      stdio: ['ignore', out, out],
    });
    child.unref();
    const deadline = Date.now() + 180_000;
    while (!readState()) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(
          `local cluster did not start; see ${logFile}:\n${readFileSync(logFile, 'utf8').slice(-2000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const state = readState()!;
  console.log(`local cluster running at ${state.server} (runner pid ${state.pid})`);
  console.log(`export KUBECONFIG=${state.kubeconfigPath}`);
  console.log(`export KILN_TEST_KUBECONFIG=${state.kubeconfigPath}`);
}

async function down(): Promise<void> {
  const state = readState();
  if (!state) {
    console.log('local cluster: not running');
    return;
  }
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      process.kill(state.pid, 0);
    } catch {
      console.log('local cluster: stopped');
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(state.pid, 'SIGKILL'); // its children die with it (parent-death signal)
  console.log('local cluster: killed after 30 s');
}

function status(): void {
  const state = readState();
  if (!state) {
    console.log('local cluster: not running');
    process.exitCode = 3;
    return;
  }
  console.log(
    `local cluster: running at ${state.server} (runner pid ${state.pid}), kubeconfig ${state.kubeconfigPath}`,
  );
}

const command = process.argv[2];
const commands: Record<string, () => unknown> = { up, down, status, run };
const fn = command ? commands[command] : undefined;
if (!fn) {
  console.error(`usage: kiln-cluster up|down|status|run (got ${command ?? 'nothing'})`);
  process.exit(2);
}
await fn();

// Start time and memory of the operator and the API: compiled (`npm run build`'s dist/main.js, what
// production runs) against TypeScript compiled at start through SWC's loader (what the images did
// before), with SWC's on-disk transform cache cold (a fresh container: every start of a pod) and warm
// (a developer's second start). Prints medians and ratios against the source runs measured in the
// same run; never asserts.
//   start  = spawn → ready: the operator's /readyz (its informer caches synced against the local
//            control plane), the API's /readyz (Postgres reachable); polled every 5 ms
//   RSS    = the process's resident set (VmRSS) at that moment, and its peak (VmHWM)
// Modes alternate run by run, so load drifts hit each alike; `uptime` is printed before and after.
// Run: npm run build && node --conditions=kiln-src --import @swc-node/register/esm-register \
//        bench/startup/startup.bench.ts      (BENCH_RUNS=7; BENCH_ONLY=api|operator)
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '@kiln/db';
import { startBenchCluster } from '../support/cluster.js';
import { median } from '../support/stats.js';

const root = new URL('../../', import.meta.url).pathname;
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const ONLY = process.env.BENCH_ONLY;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kib = (pid: number, field: 'VmRSS' | 'VmHWM') =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

type Mode = 'source, cold SWC cache' | 'source, warm SWC cache' | 'compiled (dist)';
const MODES: Mode[] = ['source, cold SWC cache', 'source, warm SWC cache', 'compiled (dist)'];
const LOADER = ['--conditions=kiln-src', '--import', '@swc-node/register/esm-register'];

interface Target {
  name: 'operator' | 'api';
  app: string;
  args: (port: number) => string[];
  env: (port: number) => NodeJS.ProcessEnv;
  readyUrl: (port: number) => string;
}

interface Sample {
  ms: number;
  rssMiB: number;
  peakMiB: number;
}

async function startOnce(target: Target, mode: Mode, warmCache: string): Promise<Sample> {
  const port = await freePort();
  const cold = mode === 'source, cold SWC cache' ? mkdtempSync(join(tmpdir(), 'kiln-swc-cold-')) : undefined;
  const argv =
    mode === 'compiled (dist)'
      ? [join(root, target.app, 'dist/main.js'), ...target.args(port)]
      : [...LOADER, join(root, target.app, 'src/main.ts'), ...target.args(port)];
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, argv, {
    cwd: root,
    env: { ...process.env, ...target.env(port), SWC_NODE_CACHE_DIR: cold ?? warmCache },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${target.name} exited ${child.exitCode}: ${stderr}`);
      const ok = await fetch(target.readyUrl(port)).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (performance.now() - t0 > 120_000)
        throw new Error(`${target.name} not ready after 120 s: ${stderr}`);
      await sleep(5);
    }
    const ms = performance.now() - t0;
    const sample = { ms, rssMiB: kib(child.pid!, 'VmRSS') / 1024, peakMiB: kib(child.pid!, 'VmHWM') / 1024 };
    return sample;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    if (cold) rmSync(cold, { recursive: true, force: true });
  }
}

async function measure(target: Target): Promise<void> {
  if (!existsSync(join(root, target.app, 'dist/main.js'))) {
    throw new Error(`${target.app}/dist/main.js is missing: run \`npm run build\` first`);
  }
  const warmCache = mkdtempSync(join(tmpdir(), 'kiln-swc-warm-'));
  await startOnce(target, 'source, warm SWC cache', warmCache); // fills the warm cache; not counted
  const samples = new Map<Mode, Sample[]>(MODES.map((m) => [m, []]));
  for (let i = 0; i < RUNS; i++) {
    // rotate the order each round
    for (let j = 0; j < MODES.length; j++) {
      const mode = MODES[(i + j) % MODES.length]!;
      samples.get(mode)!.push(await startOnce(target, mode, warmCache));
    }
  }
  rmSync(warmCache, { recursive: true, force: true });
  const base = samples.get('source, cold SWC cache')!;
  const baseMs = median(base.map((s) => s.ms));
  const baseRss = median(base.map((s) => s.rssMiB));
  console.log(`\n${target.name}: ${RUNS} starts per mode, medians`);
  console.log('| mode | start → ready | vs source, cold | RSS at ready | vs source, cold | peak RSS |');
  console.log('|---|---|---|---|---|---|');
  for (const mode of MODES) {
    const xs = samples.get(mode)!;
    const ms = median(xs.map((s) => s.ms));
    const rss = median(xs.map((s) => s.rssMiB));
    const peak = median(xs.map((s) => s.peakMiB));
    console.log(
      `| ${mode} | ${ms.toFixed(0)} ms | ${(ms / baseMs).toFixed(2)}× | ${rss.toFixed(1)} MiB | ${(rss / baseRss).toFixed(2)}× | ${peak.toFixed(1)} MiB |`,
    );
  }
}

const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();
console.log(`before: ${uptime()}`);
console.log(`node ${process.version}, ${RUNS} runs per mode`);

if (ONLY !== 'operator') {
  const db = await createTestDatabase('startup_bench');
  try {
    await measure({
      name: 'api',
      app: 'apps/api',
      args: () => [],
      env: (port) => ({
        DATABASE_URL: db.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        KILN_ADMIN_TOKEN: 'startup-bench-admin-token',
        KILN_KUBECONFIG: 'none',
      }),
      readyUrl: (port) => `http://127.0.0.1:${port}/readyz`,
    });
  } finally {
    await db.drop();
  }
}

if (ONLY !== 'api') {
  const { cluster } = await startBenchCluster({ nodes: [{ name: 'startup-node' }] });
  try {
    await measure({
      name: 'operator',
      app: 'apps/operator',
      args: (port) => [`--health-port=${port}`, '--health-host=127.0.0.1', '--lease-namespace=kube-system'],
      env: () => ({ KUBECONFIG: cluster.kubeconfigPath, KILN_LOG_LEVEL: 'warn' }),
      readyUrl: (port) => `http://127.0.0.1:${port}/readyz`,
    });
  } finally {
    await cluster.stop();
  }
}
console.log(`\nafter: ${uptime()}`);
process.exit(0);

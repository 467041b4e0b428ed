// The local platform in one step, as the README gives it to a new user: `scripts/platform.sh up --cluster`,
// then `kubectl apply -f examples/digits/trainingjob.yaml` trains at once (the CRDs installed, the operator
// running with its Lease namespace, the node agent running the example's image from this checkout) and
// `kubectl get tj` shows it through to Succeeded; `platform.sh down --cluster` stops everything it started.
// Its own state, ports, database and cluster, so a developer's own platform is left alone.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '@kiln/db';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
// Not under /tmp: checkpoints and pod paths below a pod's own /tmp mount would be mapped into it.
mkdirSync('/var/tmp', { recursive: true });
const home = mkdtempSync('/var/tmp/kiln-local-platform-');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

let db: TestDatabase;
let env: NodeJS.ProcessEnv;
let kubectl = '';

const platform = (cmd: 'up' | 'down') =>
  run('bash', [join(root, 'scripts/platform.sh'), cmd, '--cluster'], {
    cwd: root,
    env,
    timeout: 600_000,
    maxBuffer: 16 * 1024 * 1024,
  });
const kc = async (...args: string[]) => (await run(kubectl, args, { env, timeout: 60_000 })).stdout;

before(async () => {
  db = await createTestDatabase('local_platform');
  env = {
    ...process.env,
    NODE_OPTIONS: '',
    DATABASE_URL: db.url,
    KILN_PLATFORM_HOME: join(home, 'platform'),
    KILN_CLUSTER_HOME: join(home, 'cluster'),
    KILN_CLUSTER_NODES: JSON.stringify([{ name: 'local-1', cpu: '8', memory: '16Gi' }]),
    KILN_CLUSTER_POOLS: '[]',
    KILN_REDIS_PREFIX: `kiln-local-platform-${process.pid}`,
    KILN_API_PORT: String(await freePort()),
    KILN_WEB_PORT: String(await freePort()),
    KILN_OPERATOR_PORT: String(await freePort()),
  };
  delete env.KUBECONFIG;
  delete env.KILN_IMAGE_MAP;
});

after(async () => {
  await platform('down').catch((e) => console.error(`platform down: ${e}`));
  await db.drop();
  rmSync(home, { recursive: true, force: true });
});

test('platform.sh up --cluster, then kubectl apply of the digits example trains it to Succeeded', async () => {
  const up = await platform('up');
  for (const part of ['api', 'web', 'worker', 'operator'])
    assert.match(up.stdout, new RegExp(`^${part}: up`, 'm'), up.stdout);
  // The file the README tells a user to source: kubectl and the cluster's kubeconfig.
  const clusterEnv = readFileSync(join(home, 'platform/cluster.env'), 'utf8');
  env.KUBECONFIG = /^export KUBECONFIG=(.+)$/m.exec(clusterEnv)?.[1];
  const bin = /^export PATH="([^:]+):/m.exec(clusterEnv)?.[1];
  assert.ok(env.KUBECONFIG && bin, clusterEnv);
  kubectl = join(bin, 'kubectl');
  assert.ok(existsSync(kubectl));
  assert.match(await kc('get', 'namespace', 'kiln-system', '-o', 'name'), /namespace\/kiln-system/);

  await kc('apply', '-f', join(root, 'examples/digits/trainingjob.yaml'));
  const deadline = Date.now() + 480_000;
  let phase = '';
  while (Date.now() < deadline) {
    phase = await kc('get', 'tj', 'digits', '-o', 'jsonpath={.status.phase}');
    if (phase === 'Succeeded' || phase === 'Failed') break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const table = await kc('get', 'tj');
  const logs =
    phase === 'Succeeded' ? '' : readFileSync(join(home, 'platform/operator.log'), 'utf8').slice(-4000);
  assert.equal(phase, 'Succeeded', `${table}\n${logs}`);
  // `kubectl get tj`: the CRD's printer columns, the job's row.
  assert.match(table, /^NAME\s+PHASE\s+/);
  assert.match(table, /^digits\s+Succeeded\s+/m);
  const { status } = JSON.parse(await kc('get', 'tj', 'digits', '-o', 'json')) as {
    status: {
      workers?: { succeeded?: number };
      progress?: { percent?: number };
      conditions?: { type: string; status: string; reason?: string }[];
    };
  };
  // Both workers of the gang trained to the end, reporting progress to the operator on the way.
  assert.equal(status.workers?.succeeded, 2, JSON.stringify(status));
  assert.equal(status.progress?.percent, 100, JSON.stringify(status));
  assert.ok(
    status.conditions?.some(
      (c) => c.type === 'Succeeded' && c.status === 'True' && c.reason === 'WorkersSucceeded',
    ),
    JSON.stringify(status.conditions),
  );

  const down = await platform('down');
  for (const part of ['api', 'web', 'worker', 'operator'])
    assert.match(down.stdout, new RegExp(`^${part}: down`, 'm'), down.stdout);
  assert.ok(!existsSync(join(home, 'cluster/state.json')), 'the cluster is down');
});

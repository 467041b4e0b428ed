// The local platform in one step, as the README gives it to a new user: `scripts/platform.sh up --cluster`,
// then `kubectl apply -f examples/digits/trainingjob.yaml` trains at once (the CRDs installed, the operator
// running with its Lease namespace, the node agent running the example's image from this checkout) and
// `kubectl get tj` shows it through to Succeeded; `platform.sh down --cluster` stops everything it started.
// Its own state, ports, database and cluster, so a developer's own platform is left alone.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { OwnPlatform, repoRoot } from './support/own-platform.js';

const run = promisify(execFile);
let p: OwnPlatform;
let kubectl = '';
const kc = async (...args: string[]) => (await run(kubectl, args, { env: p.env, timeout: 60_000 })).stdout;

before(async () => {
  p = await OwnPlatform.create('local-platform', { cluster: true });
});
after(() => p.close());

test('platform.sh up --cluster, then kubectl apply of the digits example trains it to Succeeded', async () => {
  const up = await p.platform('up');
  for (const part of ['api', 'web', 'worker', 'operator'])
    assert.match(up, new RegExp(`^${part}: up`, 'm'), up);
  // The file the README tells a user to source: kubectl and the cluster's kubeconfig.
  const clusterEnv = readFileSync(join(p.home, 'platform/cluster.env'), 'utf8');
  p.env.KUBECONFIG = /^export KUBECONFIG=(.+)$/m.exec(clusterEnv)?.[1];
  const bin = /^export PATH="([^:]+):/m.exec(clusterEnv)?.[1];
  assert.ok(p.env.KUBECONFIG && bin, clusterEnv);
  kubectl = join(bin, 'kubectl');
  assert.ok(existsSync(kubectl));
  assert.match(await kc('get', 'namespace', 'kiln-system', '-o', 'name'), /namespace\/kiln-system/);

  await kc('apply', '-f', join(repoRoot, 'examples/digits/trainingjob.yaml'));
  const deadline = Date.now() + 480_000;
  let phase = '';
  while (Date.now() < deadline) {
    phase = await kc('get', 'tj', 'digits', '-o', 'jsonpath={.status.phase}');
    if (phase === 'Succeeded' || phase === 'Failed') break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const table = await kc('get', 'tj');
  const logs =
    phase === 'Succeeded' ? '' : readFileSync(join(p.home, 'platform/operator.log'), 'utf8').slice(-4000);
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

  const down = await p.platform('down');
  for (const part of ['api', 'web', 'worker', 'operator'])
    assert.match(down, new RegExp(`^${part}: down`, 'm'), down);
  assert.ok(!existsSync(join(p.home, 'cluster/state.json')), 'the cluster is down');
});

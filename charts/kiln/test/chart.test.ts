// Offline checks of charts/kiln: `helm lint --strict`, every rendered manifest validated against the
// Kubernetes 1.37 OpenAPI schemas (kubernetes-validate --strict, no cluster), and values.schema.json plus
// the chart's own checks refusing bad values with the field and what was expected.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { chartDir, helm, run, template, toolsBin } from './helm.js';

const external = join(chartDir, 'test/values/external.yaml');
const bundled = join(chartDir, 'test/values/bundled.yaml');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are walked by path in assertions
  [k: string]: any;
}

function objects(yamlText: string): K8sObject[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

function find(objs: K8sObject[], kind: string, name: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(
    o,
    `${kind} ${name} not rendered; rendered: ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`,
  );
  return o;
}

test('helm lint --strict passes for the production and the evaluation values', () => {
  for (const values of [external, bundled]) {
    const r = helm(['lint', '--strict', chartDir, '-f', values]);
    assert.equal(r.code, 0, `helm lint -f ${values}:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

test('every rendered manifest (CRDs included) is valid against the Kubernetes 1.37 schemas', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-chart-'));
  for (const [name, values] of [
    ['external', external],
    ['bundled', bundled],
  ] as const) {
    const rendered = template([values], [], ['--include-crds']);
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, rendered);
    const kinds = new Set(objects(rendered).map((o) => o.kind));
    for (const kind of ['CustomResourceDefinition', 'Deployment', 'Service', 'ClusterRole', 'Role', 'Job'])
      assert.ok(kinds.has(kind), `${name}: no ${kind} rendered`);
    const r = run(join(toolsBin(), 'kubernetes-validate'), ['--strict', '-k', '1.37.0', '--quiet', file]);
    assert.equal(r.code, 0, `${name}: kubernetes-validate --strict failed:\n${r.stdout}${r.stderr}`);
  }
  // A manifest the schemas reject makes the same command fail (the check can fail).
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: "two"}\n');
  const r = run(join(toolsBin(), 'kubernetes-validate'), ['--strict', '-k', '1.37.0', '--quiet', bad]);
  assert.notEqual(r.code, 0, 'kubernetes-validate accepted a Deployment with replicas: "two"');
});

test('production values: leader election, probes on the real endpoints, secrets, least-privilege RBAC', () => {
  const objs = objects(template([external]));
  const op = find(objs, 'Deployment', 'kiln-operator');
  assert.equal(op.spec!.replicas, 2);
  const opc = op.spec!.template.spec.containers[0];
  const env = Object.fromEntries(opc.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
  assert.equal(env.KILN_OPERATOR_LEASE_NAMESPACE, 'kiln-system');
  assert.equal(env.KILN_OPERATOR_TRACKING_URL, 'http://kiln-api.kiln-system.svc:8080');
  assert.equal(opc.livenessProbe.httpGet.path, '/healthz');
  assert.equal(opc.readinessProbe.httpGet.path, '/readyz');
  const api = find(objs, 'Deployment', 'kiln-api').spec!.template.spec.containers[0];
  assert.equal(api.readinessProbe.httpGet.path, '/readyz');
  assert.deepEqual(
    api.env.find((e: { name: string }) => e.name === 'KILN_ADMIN_TOKEN').valueFrom.secretKeyRef,
    { name: 'kiln', key: 'admin-token' },
  );
  const secret = find(objs, 'Secret', 'kiln');
  assert.equal(
    Buffer.from(secret.data['database-url'], 'base64').toString(),
    'postgresql://kiln:secret@postgres.example:5432/kiln',
  );
  assert.ok(Buffer.from(secret.data['admin-token'], 'base64').toString().length >= 16);
  // Leases only in the release namespace, through a Role; no wildcard verbs or resources anywhere.
  const role = find(objs, 'Role', 'kiln-operator-leader-election');
  assert.equal(role.metadata.namespace, 'kiln-system');
  assert.deepEqual(role.rules, [
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
  ]);
  for (const o of objs.filter((x) => x.kind === 'ClusterRole' || x.kind === 'Role'))
    for (const rule of o.rules) {
      assert.ok(
        !rule.verbs.includes('*') && !rule.resources.includes('*'),
        `${o.metadata.name}: wildcard rule`,
      );
      if (o.kind === 'ClusterRole')
        assert.ok(!rule.resources.includes('leases'), `${o.metadata.name}: cluster-wide leases`);
    }
  assert.ok(
    !find(objs, 'ClusterRole', 'kiln-worker').rules.some((r: { resources: string[] }) =>
      r.resources.includes('pods'),
    ),
  );
  // Bundled stores are off by default; every pod runs as non-root.
  assert.ok(!objs.some((o) => o.kind === 'StatefulSet'));
  for (const d of objs.filter((o) => o.kind === 'Deployment'))
    assert.equal(d.spec!.template.spec.securityContext.runAsNonRoot, true, d.metadata.name);
  assert.equal(find(objs, 'PodDisruptionBudget', 'kiln-api').spec!.minAvailable, 1);
});

test('an admin token generated at install is kept by the next render only through the stored Secret', () => {
  // Without a cluster Helm's lookup finds nothing: two renders generate two different tokens, which is
  // why the template reads the previous release's Secret first (checked against a real apiserver in
  // install.test.ts).
  const token = (y: string) => find(objects(y), 'Secret', 'kiln').data['admin-token'];
  assert.notEqual(token(template([external])), token(template([external])));
  assert.equal(
    token(template([external], ['adminToken=0123456789abcdef0123'])),
    Buffer.from('0123456789abcdef0123').toString('base64'),
  );
});

test('evaluation values: bundled Postgres and Redis wired into every process', () => {
  const objs = objects(template([bundled]));
  find(objs, 'StatefulSet', 'kiln-postgres');
  find(objs, 'StatefulSet', 'kiln-redis');
  const secret = find(objs, 'Secret', 'kiln');
  assert.match(
    Buffer.from(secret.data['database-url'], 'base64').toString(),
    /^postgresql:\/\/kiln:[A-Za-z0-9]{32}@kiln-postgres\.kiln-system\.svc:5432\/kiln$/,
  );
  assert.equal(secret.data['admin-token'], undefined, 'an existing admin-token Secret was given');
  const worker = find(objs, 'Deployment', 'kiln-worker').spec!.template.spec.containers[0];
  assert.equal(
    worker.env.find((e: { name: string }) => e.name === 'REDIS_URL').value,
    'redis://kiln-redis.kiln-system.svc:6379',
  );
  const api = find(objs, 'Deployment', 'kiln-api').spec!.template.spec.containers[0];
  assert.deepEqual(
    api.env.find((e: { name: string }) => e.name === 'KILN_ADMIN_TOKEN').valueFrom.secretKeyRef,
    {
      name: 'kiln-admin',
      key: 'admin-token',
    },
  );
  // One replica: no PodDisruptionBudget that would block every drain.
  assert.ok(!objs.some((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'kiln-api'));
});

test('bad values are refused with the field and what was expected', () => {
  const cases: [string[], RegExp][] = [
    [['operator.replicas=0'], /operator\/replicas.*minimum/s],
    [['api.port=70000'], /api\/port.*maximum/s],
    [['adminToken=short'], /adminToken.*(pattern|match)/s],
    [['database.url=mysql://x'], /database\/url/],
    [['operator.replica=2'], /operator.*additional properties.*replica/is],
    [['api.resources.limits.memory=lots'], /api\/resources\/limits\/memory/],
    [['worker.logLevel=loud'], /worker\/logLevel/],
    [['image.pullPolicy=Sometimes'], /image\/pullPolicy/],
  ];
  for (const [set, expected] of cases) {
    assert.throws(
      () => template([external], set),
      expected,
      `--set ${set.join(' ')} was not refused as expected`,
    );
  }
  // What the schema cannot say across keys, the chart says itself.
  assert.throws(
    () => template([], ['redisUrl=redis://r:6379']),
    /database: set database\.url .*existingSecret.*postgres\.enabled/,
  );
  assert.throws(() => template([], ['database.url=postgresql://a@b/c']), /redisUrl: set redisUrl/);
});

test('NOTES.txt tells how to reach the API, read the admin token, and what happens to the CRD', () => {
  const r = helm(['install', 'kiln', chartDir, '-n', 'kiln-system', '--dry-run=client', '-f', external]);
  assert.equal(r.code, 0, r.stderr);
  const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
  assert.match(notes, /API: +http:\/\/kiln-api\.kiln-system\.svc:8080/);
  assert.match(notes, /get secret kiln -o jsonpath='\{\.data\.admin-token\}' \| base64 -d/);
  assert.match(notes, /helm uninstall` leaves it/);
  assert.doesNotMatch(notes, /evaluation only/);
});

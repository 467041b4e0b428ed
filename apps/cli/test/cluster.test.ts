// The cluster commands (`kiln login`, `submit`, `status`, `suspend`, `resume`, `cancel`, `runs`,
// `completion`) against the real API on a fresh Postgres database and the real Kubernetes control plane
// (deploy/local-cluster), with bad input for each: flags, files, URLs, tokens and projects.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clusterForTests, waitFor } from '@kiln/local-cluster/test-helper';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { KubeJobBackend } from '../../api/src/jobs/backend.js';
import { ADMIN, startApi, type TestApi } from '../../api/test/support/api.js';
import { configPath } from '../src/api/credentials.js';
import { main } from '../src/main.js';

// one node, so the log test's pods run (no operator runs here: the test makes the worker pods itself)
const k = clusterForTests({ nodes: [{ name: 'node-1' }] });
const dir = mkdtempSync(join(tmpdir(), 'kiln-cli-cluster-'));
let api: TestApi;
let ns = '';
let project = '';
let token = '';

async function kiln(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

function jobFile(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

const JOB = (name: string) => `apiVersion: kiln.dev/v1alpha1
kind: TrainingJob
metadata:
  name: ${name}
spec:
  image: registry.example/kiln-trainer:0.1
  command: [kiln, fit, examples/digits/train.ts]
  workers: 2
  hyperparameters: {lr: 0.001}
`;

describe('kiln cluster commands', () => {
  before(async () => {
    process.env.XDG_CONFIG_HOME = join(dir, 'config');
    for (const v of ['KILN_API_URL', 'KILN_TOKEN', 'KILN_PROJECT', 'KILN_DASHBOARD_URL'])
      delete process.env[v];
    await k.installTrainingJobCrd();
    ns = await k.namespace('cli');
    api = await startApi('cli', {}, new KubeJobBackend(k.kc));
    project = (await api.call(ADMIN, 'POST', '/api/v1/projects', { name: 'cli', namespace: ns })).body.id;
    token = (
      await api.call(ADMIN, 'POST', `/api/v1/projects/${project}/tokens`, { name: 'w', scope: 'write' })
    ).body.token;
  });
  after(() => api?.close());

  test('commands before login say how to log in', async () => {
    const r = await kiln('status');
    assert.equal(r.code, 2);
    assert.match(r.err, /not logged in: run `kiln login <api-url> --token <token>`/);
  });

  test('login checks URL, token and project, and saves them readable by the user only', async () => {
    const bad = await kiln('login', 'ftp://x', '--token', token);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /<api-url>: expected an http or https URL/);
    const refused = await kiln('login', api.url, '--token', 'not-a-token');
    assert.equal(refused.code, 2);
    assert.match(refused.err, /refused the token \(401/);
    const unknown = await kiln('login', api.url, '--token', token, '--project', 'nope');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /--project: no project "nope" that this token may use \(it sees: cli\)/);
    const noToken = await kiln('login', api.url);
    assert.match(noToken.err, /--token: required/);

    const ok = await kiln('login', api.url, '--token', token, '--dashboard', 'http://127.0.0.1:9/');
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, new RegExp(`Logged in to ${api.url}, project cli`));
    const saved = JSON.parse(readFileSync(configPath(), 'utf8'));
    assert.deepEqual(saved, {
      url: api.url,
      token,
      project: { id: project, name: 'cli' },
      dashboardUrl: 'http://127.0.0.1:9',
    });
    assert.equal(statSync(configPath()).mode & 0o777, 0o600);
  });

  test('submit validates the file locally and names file, line and field', async () => {
    const path = jobFile('bad.yaml', `${JOB('bad')}  workers: 0\n`.replace('  workers: 2\n', ''));
    const r = await kiln('submit', '-f', path);
    assert.equal(r.code, 2);
    assert.match(r.err, /is not a valid TrainingJob:/);
    assert.match(r.err, new RegExp(`${path}:\\d+:\\d+: spec\\.workers: `));
    const missing = await kiln('submit', '-f', join(dir, 'nope.yaml'));
    assert.match(missing.err, /--file .*nope\.yaml: no such file/);
    const noFlag = await kiln('submit');
    assert.equal(noFlag.code, 2);
    const jobs = await api.call(token, 'GET', `/api/v1/projects/${project}/jobs`);
    assert.equal(jobs.body.total, 0, 'nothing was created');
  });

  test('submit creates the job and its run, prints the dashboard URL; a duplicate names the field', async () => {
    const path = jobFile('digits.yaml', JOB('digits'));
    const r = await kiln('submit', '-f', path);
    assert.equal(r.code, 0, r.err);
    const m = /trainingjob\/digits submitted to cli \(namespace (\S+)\), run (\S+)\n {2}(\S+)/.exec(r.out);
    assert.ok(m, r.out);
    assert.equal(m[1], ns);
    assert.equal(m[3], `http://127.0.0.1:9/runs/${m[2]}`);
    const run = await api.call(token, 'GET', `/api/v1/runs/${m[2]}`);
    assert.equal(run.body.job.name, 'digits');
    const dup = await kiln('submit', '-f', path);
    assert.equal(dup.code, 2);
    assert.match(dup.err, /body\.metadata\.name: a TrainingJob named digits already exists/);
    const json = await kiln('submit', '-f', jobFile('two.yaml', JOB('two')), '-o', 'json');
    assert.equal(JSON.parse(json.out).job.metadata.name, 'two');
  });

  test('status prints the kubectl columns; json and yaml carry the objects', async () => {
    const table = await kiln('status');
    assert.equal(table.code, 0, table.err);
    const lines = table.out.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+PHASE\s+WORKERS\s+PROGRESS\s+ETA\s+RESTARTS\s+AGE$/);
    assert.deepEqual(
      lines
        .slice(1)
        .map((l) => l.split(/\s+/)[0])
        .sort(),
      ['digits', 'two'],
    );
    const one = await kiln('status', 'digits', '-o', 'yaml');
    assert.match(one.out, /name: digits/);
    assert.equal(JSON.parse((await kiln('status', '-o', 'json')).out).length, 2);
    const missing = await kiln('status', 'nope');
    assert.equal(missing.code, 2);
    assert.match(missing.err, /TrainingJob nope not found/);
    const badOut = await kiln('status', '-o', 'xml');
    assert.equal(badOut.code, 2);
    assert.match(badOut.err, /argument 'xml' is invalid. Allowed choices are table, json, yaml/);
    const badInterval = await kiln('status', '-w', '--interval', 'soon');
    assert.match(badInterval.err, /--interval: expected seconds between 0\.2 and 3600, got "soon"/);
  });

  test('status -w follows a job until it ends and exits with its outcome', async () => {
    const custom = k.kc.makeApiClient(CustomObjectsApi);
    const setPhase = (phase: string) =>
      custom.patchNamespacedCustomObjectStatus(
        {
          group: 'kiln.dev',
          version: 'v1alpha1',
          namespace: ns,
          plural: 'trainingjobs',
          name: 'two',
          body: { status: { phase, progress: { percent: 50, etaSeconds: 90 } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await setPhase('Running');
    const watching = kiln('status', 'two', '-w', '--interval', '0.2');
    await new Promise((r) => setTimeout(r, 600));
    await setPhase('Failed');
    const r = await watching;
    assert.equal(r.code, 1, 'a failed job exits 1');
    assert.match(r.out, /two\s+Running\s+0\/2\s+50%\s+1m30s/);
    assert.match(r.out, /two\s+Failed/);
  });

  test('suspend, resume and cancel act through the API', async () => {
    const s = await kiln('suspend', 'digits');
    assert.equal(s.code, 0, s.err);
    assert.equal(s.out, 'trainingjob/digits suspended\n');
    const job = await api.call(token, 'GET', `/api/v1/projects/${project}/jobs/digits`);
    assert.equal(job.body.spec.runPolicy.suspend, true);
    const r = await kiln('resume', 'digits', '-o', 'json');
    assert.equal(r.code, 0, r.err);
    const resumed = JSON.parse(r.out);
    assert.equal(resumed.result, 'resumed');
    assert.equal(resumed.job.spec.runPolicy.suspend, false);
    const badOutput = await kiln('suspend', 'digits', '-o', 'xml');
    assert.equal(badOutput.code, 2);
    assert.match(badOutput.err, /-o, --output <format>.*xml.*(table|json|yaml)/);
    const c = await kiln('cancel', 'digits', '-o', 'yaml');
    assert.equal(c.out, 'name: digits\nresult: cancelled\n');
    await waitFor(
      'the job deleted',
      async () => (await api.call(token, 'GET', `/api/v1/projects/${project}/jobs/digits`)).status === 404,
      30_000,
    );
    const again = await kiln('cancel', 'digits');
    assert.equal(again.code, 2);
    assert.match(again.err, /TrainingJob digits not found/);
  });

  test('logs prints a worker pod’s log, follows it, tails it; bad workers are named', async () => {
    assert.equal((await kiln('submit', '-f', jobFile('logjob.yaml', JOB('logjob')))).code, 0);
    await k.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'logjob-worker-0' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'trainer',
              image: 'busybox',
              command: ['sh', '-c', 'echo epoch 1; sleep 1; echo epoch 2'],
            },
          ],
        },
      },
    });
    const followed = await kiln('logs', 'logjob', '-f');
    assert.equal(followed.code, 0, followed.err);
    assert.equal(followed.out, 'epoch 1\nepoch 2\n', 'follow waits for the pod to end');
    const tail = await kiln('logs', 'logjob', '--tail', '1');
    assert.equal(tail.out, 'epoch 2\n');
    const noPod = await kiln('logs', 'logjob', '--worker', '1');
    assert.equal(noPod.code, 2);
    assert.match(noPod.err, /worker 1 of TrainingJob logjob has no pod now/);
    const outOfRange = await kiln('logs', 'logjob', '--worker', '2');
    assert.match(outOfRange.err, /query\.worker: must be below the job's 2 workers \(got 2\)/);
    assert.match((await kiln('logs', 'logjob', '--worker', 'x')).err, /--worker: expected a worker index/);
    assert.match((await kiln('logs', 'logjob', '--tail', '0')).err, /--tail: expected a positive number/);
    assert.match((await kiln('logs', 'nope')).err, /TrainingJob nope not found/);
  });

  test('runs lists the recorded runs; flags are checked', async () => {
    const r = await kiln('runs');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^ID\s+NAME\s+STATUS\s+JOB\s+STEP\s+AGE/);
    assert.match(r.out, /\bdigits\b/);
    const bad = await kiln('runs', '--limit', '0');
    assert.match(bad.err, /--limit: expected an integer from 1 to 500, got "0"/);
    const env = await kiln('runs', '--api', 'not a url');
    assert.match(env.err, /--api: expected the API's http\(s\) URL/);
  });

  test('completion prints a bash script that knows every command and its flags', async () => {
    const r = await kiln('completion', 'bash');
    assert.equal(r.code, 0);
    for (const c of ['fit', 'login', 'submit', 'status', 'logs', 'cancel', 'runs'])
      assert.match(r.out, new RegExp(`\\b${c}\\b`));
    assert.match(r.out, /submit\) opts="-f --file --api --token --project -o --output --help"/);
    assert.match((await kiln('completion', 'fish')).err, /<shell>: expected bash or zsh, got "fish"/);
  });
});

// `kiln sweep create|status|pause|resume|stop` against the real API on a fresh Postgres database; bad
// files rejected with file:line:column and field; `--local` runs a sweep to completion with trials as
// processes on this machine (the worker's local executor; a fake trainer records val/loss).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ADMIN, startApi, type TestApi } from '../../api/test/support/api.js';
import { main } from '../src/main.js';

const trainer = new URL('../../worker/test/fixtures/trial.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'kiln-cli-sweep-'));
let api: TestApi;

async function kiln(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const SWEEP = (name: string, extra = '') => `apiVersion: kiln.dev/v1alpha1
kind: Sweep
metadata:
  name: ${name}
spec:
  objective: {metric: val/loss, goal: minimize}
  algorithm: {type: random, seed: 3}
  parameters:
    x: {type: uniform, min: 0, max: 1}
    width: {type: int, min: 16, max: 64}
  maxTrials: 4
  parallelism: 2
  trialTemplate:
    image: kiln-trainer
    command: [node, ${trainer}]
    env:
      - {name: EPOCHS, value: "2"}
${extra}`;

before(async () => {
  process.env.KILN_REDIS_PREFIX = `kiln-t-${randomBytes(4).toString('hex')}`;
  process.env.XDG_CONFIG_HOME = join(dir, 'config');
  api = await startApi('cli_sweep');
  const project = await api.call(ADMIN, 'POST', '/api/v1/projects', {
    name: 'sweeper',
    namespace: 'sweeper',
  });
  const token = await api.call(ADMIN, 'POST', `/api/v1/projects/${project.body.id}/tokens`, {
    name: 'w',
    scope: 'write',
  });
  process.env.KILN_API_URL = api.url;
  process.env.KILN_TOKEN = token.body.token;
  process.env.KILN_PROJECT = 'sweeper';
});
after(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('bad sweep files are refused before the API, naming file, line, column and field', async () => {
  const bad = file(
    'bad.yaml',
    SWEEP('bad').replace('min: 0, max: 1', 'min: 2, max: 1').replace('maxTrials: 4', 'maxTrials: 0'),
  );
  const r = await kiln('sweep', 'create', '-f', bad);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /is not a valid Sweep/);
  assert.match(r.err, /bad\.yaml:\d+:\d+: spec\.parameters\.x\.min: /);
  assert.match(r.err, /bad\.yaml:\d+:\d+: spec\.maxTrials: /);
  const missing = await kiln('sweep', 'create', '-f', join(dir, 'nope.yaml'));
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--file .*nope\.yaml: no such file/);
  const notSweep = await kiln('sweep', 'create', '-f', file('job.yaml', 'kind: TrainingJob\n'));
  assert.equal(notSweep.code, 2);
  const unknown = await kiln('sweep', 'status', 'no-such-sweep');
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /no sweep "no-such-sweep"/);
  const list = await api.call(ADMIN, 'GET', '/api/v1/projects');
  const sweeps = await api.call(ADMIN, 'GET', `/api/v1/projects/${list.body[0].id}/sweeps`);
  assert.equal(sweeps.body.total, 0);
});

test('create, status (table and json), pause, resume, stop on the cluster executor', async () => {
  const c = await kiln('sweep', 'create', '-f', file('cluster.yaml', SWEEP('on-cluster')));
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /^sweep\/on-cluster created in sweeper \(id [0-9a-f-]{36}\)\n$/);
  const s = await kiln('sweep', 'status', 'on-cluster');
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /^sweep\/on-cluster {3}running {3}trials 0\/4 \(parallelism 2\): 0 running/);
  const j = await kiln('sweep', 'status', 'on-cluster', '--output', 'json');
  const doc = JSON.parse(j.out);
  assert.equal(doc.sweep.name, 'on-cluster');
  assert.deepEqual(doc.trials, []);
  assert.match((await kiln('sweep', 'pause', 'on-cluster')).out, /sweep\/on-cluster paused/);
  const again = await kiln('sweep', 'pause', 'on-cluster');
  assert.equal(again.code, 2);
  assert.match(again.err, /cannot pause sweep on-cluster: it is paused/);
  assert.match((await kiln('sweep', 'resume', 'on-cluster')).out, /running/);
  assert.match((await kiln('sweep', 'stop', doc.sweep.id)).out, /stopping/);
});

test('create --local runs the trials here to completion; status lists them best first', async () => {
  const saved = process.env.DATABASE_URL;
  delete process.env.DATABASE_URL;
  const noDb = await kiln('sweep', 'create', '-f', file('local.yaml', SWEEP('here')), '--local');
  assert.equal(noDb.code, 2);
  assert.match(noDb.err, /--local: .*set DATABASE_URL/);
  process.env.DATABASE_URL = api.db.url;
  try {
    const yaml = `${SWEEP('here2')}      - {name: DATABASE_URL, value: "${api.db.url}"}\n`;
    const r = await kiln(
      'sweep',
      'create',
      '-f',
      file('local2.yaml', yaml),
      '--local',
      '--trial-dir',
      join(dir, 'trials'),
    );
    assert.equal(r.code, 0, r.err + r.out);
    for (const n of [0, 1, 2, 3]) assert.match(r.out, new RegExp(`trial ${n} complete \\d`));
    const j = await kiln('sweep', 'status', 'here2', '-o', 'json');
    const doc = JSON.parse(j.out);
    assert.equal(doc.sweep.status, 'completed');
    assert.equal(doc.sweep.executor, 'local');
    const values = doc.trials.map((t: { value: number }) => t.value);
    assert.deepEqual(
      values,
      [...values].sort((a, b) => a - b),
    );
    assert.equal(doc.sweep.best.number, doc.trials[0].number);
    const t = await kiln('sweep', 'status', 'here2');
    const lines = t.out.trim().split('\n');
    assert.match(lines[0]!, /completed .*4 complete/);
    assert.match(lines[1]!, /^TRIAL\s+STATE\s+VAL\/LOSS\s+WIDTH\s+X\s+REPORTS$/);
    assert.match(lines[2]!, new RegExp(`^${doc.trials[0].number}\\s+complete\\s`));
  } finally {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
  }
});

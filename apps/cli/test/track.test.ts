// `kiln fit --track`: a run recorded by the real API (on a fresh, migrated Postgres database), and
// clear usage errors, naming the flag, for a bad URL, token or project.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ADMIN, seedProject, startApi, type TestApi } from '../../api/test/support/api.js';
import { main } from '../src/main.js';

const kiln = join(import.meta.dirname, '..', 'bin', 'kiln');
const regression = join(import.meta.dirname, '..', '..', '..', 'examples', 'regression', 'train.ts');
const TRACKING_ENV = [
  'KILN_TRACKING_URL',
  'KILN_TRACKING_TOKEN',
  'KILN_PROJECT',
  'KILN_RUN_NAME',
  'KILN_RUN_ID',
];
// a few optimizer steps on the cpu backend: seconds, and every step's metrics reach the API
const SMALL = [
  '--max-steps',
  '4',
  '--accelerator',
  'cpu',
  '--log-every-n-steps',
  '1',
  '--no-enable-progress-bar',
  '--no-enable-model-summary',
];

/** Runs bin/kiln as a user would, from a fresh folder, with only the given tracking variables. */
function runKiln(args: string[], env: Record<string, string> = {}) {
  const e: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  for (const k of [...TRACKING_ENV, 'KILN_HPARAMS']) delete e[k];
  Object.assign(e, env);
  const p = spawn(kiln, args, {
    cwd: mkdtempSync(join(tmpdir(), 'kiln-track-')),
    env: e,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout.on('data', (d) => {
    out += d;
  });
  p.stderr.on('data', (d) => {
    out += d;
  });
  return new Promise<{ code: number | null; out: string }>((resolve) =>
    p.on('exit', (code) => resolve({ code, out })),
  );
}

/** `main` in this process, its tracking variables cleared (plus `env`), capturing stderr. */
async function inProcess(args: string[], env: Record<string, string> = {}) {
  const saved = Object.fromEntries(TRACKING_ENV.map((k) => [k, process.env[k]]));
  for (const k of TRACKING_ENV) delete process.env[k];
  Object.assign(process.env, env);
  let err = '';
  try {
    const code = await main(args, { out: () => {}, err: (t) => (err += t) });
    return { code, err };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

let api: TestApi;
let seed: Awaited<ReturnType<typeof seedProject>>;
before(
  async () => {
    api = await startApi('cli_track');
    seed = await seedProject(api, 'tracked');
  },
  { timeout: 120_000 },
);
after(() => api?.close());

/** Runs of the seeded project whose name contains `part`. */
async function runsNamed(part: string) {
  const r = await api.call(seed.readToken, 'GET', `/api/v1/projects/${seed.id}/runs?name=${part}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.items as { id: string; name: string; status: string }[];
}

test('kiln fit --track <url> --project <name> --token --run-name records the run with its metrics', {
  timeout: 180_000,
}, async () => {
  const r = await runKiln([
    'fit',
    regression,
    ...SMALL,
    '--track',
    api.url,
    '--project',
    'tracked',
    '--token',
    seed.writeToken,
    '--run-name',
    'cli-tracked',
  ]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`kiln: recording this run as "cli-tracked" in project ${seed.id} at `));
  const runs = await runsNamed('cli-tracked');
  assert.equal(runs.length, 1, JSON.stringify(runs));
  const run = runs[0]!;
  assert.equal(run.status, 'succeeded');
  const keys = await api.call(seed.readToken, 'GET', `/api/v1/runs/${run.id}/metrics/keys`);
  assert.equal(keys.status, 200);
  const mse = (keys.body as { key: string; count: number; lastStep: number }[]).find(
    (k) => k.key === 'train/mse',
  );
  assert.ok(mse, `train/mse among ${JSON.stringify(keys.body)}`);
  assert.equal(mse.count, 4, 'one point per step');
  assert.equal(mse.lastStep, 4);
  const detail = await api.call(seed.readToken, 'GET', `/api/v1/runs/${run.id}`);
  assert.equal(detail.status, 200);
  assert.equal((detail.body.hyperparams as Record<string, unknown>).hidden !== undefined, true, 'hparams');
});

test('--track alone takes KILN_TRACKING_URL and KILN_TRACKING_TOKEN, and the token’s only project', {
  timeout: 180_000,
}, async () => {
  const r = await runKiln(['fit', regression, ...SMALL, '--track'], {
    KILN_TRACKING_URL: api.url,
    KILN_TRACKING_TOKEN: seed.writeToken,
  });
  assert.equal(r.code, 0, r.out);
  const runs = await runsNamed('train-');
  assert.equal(runs.length, 1, 'named <script>-<date>');
  assert.match(runs[0]!.name, /^train-\d{8}-\d{6}$/);
  assert.equal(runs[0]!.status, 'succeeded');
});

test('bad --track, --token, --project and --run-name values are usage errors naming the flag', {
  timeout: 60_000,
}, async () => {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const closed = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;
  await new Promise((r) => probe.close(r));
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['--track', 'ftp://x'], {}, /--track: expected an http or https URL, got "ftp:\/\/x"/],
    [['--track', 'not a url'], {}, /--track: expected the API's http\(s\) URL .*got "not a url"/],
    [['--track'], {}, /--track: no URL given and KILN_TRACKING_URL is not set/],
    [['--track', api.url], {}, /--token: recording a run needs an API token/],
    [['--project', 'tracked'], {}, /--project is for --track/],
    [['--run-name', 'x'], { KILN_TRACKING_URL: api.url }, /--run-name is for --track/],
    [['--track', api.url, '--token', 'wrong-token'], {}, /--token: the Kiln API at .* refused it \(401/],
    [
      ['--track', api.url, '--token', seed.writeToken, '--project', 'nosuch'],
      {},
      /--project: no project named "nosuch" that this token may use \(it sees: tracked\)/,
    ],
    [
      ['--track', api.url, '--token', ADMIN, '--project', seed.id, '--run-name', 'x'.repeat(201)],
      {},
      /--run-name: expected 1 to 200 characters/,
    ],
    [['--track', closed, '--token', 't'], {}, /--track: cannot reach the Kiln API at http:.*: ECONNREFUSED/],
  ];
  for (const [flags, env, expected] of cases) {
    const r = await inProcess(['fit', regression, ...flags], env);
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.err}`);
    assert.match(r.err, expected, flags.join(' '));
  }
  // an admin token sees every project, so it must name one
  await api.call(ADMIN, 'POST', '/api/v1/projects', { name: 'other', namespace: 'ns-other' });
  const r = await inProcess(['fit', regression, '--track', api.url, '--token', ADMIN]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--project: the token can see \d+ projects \(.*other.*tracked.*\); name one/);
});

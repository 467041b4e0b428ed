// A token of project A can neither read nor write anything of project B, on every endpoint; the same
// requests made on A's own objects succeed, so the table is not passing vacuously.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, seedProject, startApi, type TestApi } from './support/api.js';

type Seed = Awaited<ReturnType<typeof seedProject>> & { checkpointId: string };
interface Case {
  name: string;
  method: string;
  path: (s: Seed) => string;
  body?: (s: Seed) => unknown;
  /** Needs a cluster: with none configured the owner gets 503 (after the access check). */
  cluster?: boolean;
  adminOnly?: boolean;
  /** Run tokens may use this on their own run. */
  runTokenOk?: boolean;
  /** Read tokens may use this. */
  readOk?: boolean;
}

const ckpt = (step: number) => ({
  step,
  epoch: 0,
  path: `/ckpt/${step}.ckpt`,
  sizeBytes: 10,
  sha256: 'a'.repeat(64),
});
const job = { metadata: { name: 'j1' }, spec: { image: 'x', command: ['kiln'], workers: 1 } };

const cases: Case[] = [
  {
    name: 'create project',
    method: 'POST',
    path: () => '/api/v1/projects',
    body: () => ({ name: 'zz', namespace: 'zz' }),
    adminOnly: true,
  },
  { name: 'prometheus metrics', method: 'GET', path: () => '/metrics', adminOnly: true },
  { name: 'get project', method: 'GET', path: (s) => `/api/v1/projects/${s.id}`, readOk: true },
  {
    name: 'create token',
    method: 'POST',
    path: (s) => `/api/v1/projects/${s.id}/tokens`,
    body: () => ({ name: 'x', scope: 'read' }),
  },
  { name: 'list tokens', method: 'GET', path: (s) => `/api/v1/projects/${s.id}/tokens` },
  {
    name: 'create run',
    method: 'POST',
    path: (s) => `/api/v1/projects/${s.id}/runs`,
    body: () => ({ name: 'x' }),
  },
  { name: 'list runs', method: 'GET', path: (s) => `/api/v1/projects/${s.id}/runs`, readOk: true },
  { name: 'get run', method: 'GET', path: (s) => `/api/v1/runs/${s.runId}`, readOk: true, runTokenOk: true },
  {
    name: 'update run',
    method: 'PATCH',
    path: (s) => `/api/v1/runs/${s.runId}`,
    body: () => ({ progress: { step: 5 } }),
    runTokenOk: true,
  },
  {
    name: 'run events',
    method: 'GET',
    path: (s) => `/api/v1/runs/${s.runId}/events`,
    readOk: true,
    runTokenOk: true,
  },
  {
    name: 'ingest metrics',
    method: 'POST',
    path: (s) => `/api/v1/runs/${s.runId}/metrics`,
    body: () => ({ points: [{ key: 'loss', step: 1, value: 1 }] }),
    runTokenOk: true,
  },
  {
    name: 'metric keys',
    method: 'GET',
    path: (s) => `/api/v1/runs/${s.runId}/metrics/keys`,
    readOk: true,
    runTokenOk: true,
  },
  {
    name: 'series',
    method: 'GET',
    path: (s) => `/api/v1/runs/${s.runId}/metrics/series?key=loss`,
    readOk: true,
    runTokenOk: true,
  },
  {
    name: 'series batch',
    method: 'GET',
    path: (s) => `/api/v1/runs/${s.runId}/metrics/series/batch?key=loss&key=acc`,
    readOk: true,
    runTokenOk: true,
  },
  {
    name: 'compare',
    method: 'GET',
    path: (s) => `/api/v1/projects/${s.id}/metrics/compare?runIds=${s.runId}&key=loss`,
    readOk: true,
  },
  {
    name: 'register checkpoint',
    method: 'POST',
    path: (s) => `/api/v1/runs/${s.runId}/checkpoints`,
    body: () => ckpt(7),
    runTokenOk: true,
  },
  {
    name: 'list checkpoints',
    method: 'GET',
    path: (s) => `/api/v1/runs/${s.runId}/checkpoints`,
    readOk: true,
    runTokenOk: true,
  },
  {
    name: 'mark best',
    method: 'POST',
    path: (s) => `/api/v1/runs/${s.runId}/checkpoints/${s.checkpointId}/best`,
    runTokenOk: true,
  },
  {
    name: 'append logs',
    method: 'POST',
    path: (s) => `/api/v1/runs/${s.runId}/logs`,
    body: () => ({ worker: '0', lines: ['hi'] }),
    runTokenOk: true,
  },
  {
    name: 'log tail',
    method: 'GET',
    path: (s) => `/api/v1/runs/${s.runId}/logs`,
    readOk: true,
    runTokenOk: true,
  },
  {
    name: 'submit job',
    method: 'POST',
    path: (s) => `/api/v1/projects/${s.id}/jobs`,
    body: () => job,
    cluster: true,
  },
  {
    name: 'list jobs',
    method: 'GET',
    path: (s) => `/api/v1/projects/${s.id}/jobs`,
    cluster: true,
    readOk: true,
  },
  {
    name: 'get job',
    method: 'GET',
    path: (s) => `/api/v1/projects/${s.id}/jobs/j1`,
    cluster: true,
    readOk: true,
  },
  { name: 'cancel job', method: 'DELETE', path: (s) => `/api/v1/projects/${s.id}/jobs/j1`, cluster: true },
  {
    name: 'suspend job',
    method: 'POST',
    path: (s) => `/api/v1/projects/${s.id}/jobs/j1/suspend`,
    cluster: true,
  },
  {
    name: 'resume job',
    method: 'POST',
    path: (s) => `/api/v1/projects/${s.id}/jobs/j1/resume`,
    cluster: true,
  },
];

let api: TestApi;
let A: Seed;
let B: Seed;

async function seed(name: string): Promise<Seed> {
  const s = await seedProject(api, name);
  const c = await api.call(s.writeToken, 'POST', `/api/v1/runs/${s.runId}/checkpoints`, ckpt(1));
  assert.equal(c.status, 201);
  return { ...s, checkpointId: c.body.id };
}

before(async () => {
  api = await startApi('isolation');
  A = await seed('alpha');
  B = await seed('beta');
});
after(() => api.close());

describe("project A's tokens on project B's objects", () => {
  for (const c of cases) {
    for (const kind of ['writeToken', 'readToken', 'runToken'] as const) {
      test(`${c.name} with A's ${kind} → 403/404`, async () => {
        const r = await api.call(A[kind], c.method, c.path(B), c.body?.(B));
        assert.ok(
          [403, 404].includes(r.status),
          `${c.method} ${c.path(B)} answered ${r.status} ${JSON.stringify(r.body)}`,
        );
        assert.equal(typeof r.body.message, 'string');
      });
    }
  }
  test("compare with B's run under A's project is refused", async () => {
    const r = await api.call(
      A.readToken,
      'GET',
      `/api/v1/projects/${A.id}/metrics/compare?runIds=${B.runId}&key=loss`,
    );
    assert.equal(r.status, 400);
    assert.match(r.body.message, /not in this project/);
  });
  test('listing projects shows only A', async () => {
    const r = await api.call(A.readToken, 'GET', '/api/v1/projects');
    assert.deepEqual(
      r.body.map((p: { id: string }) => p.id),
      [A.id],
    );
  });
  test('nothing of B changed: status, metrics, checkpoints, logs, tokens', async () => {
    const run = await api.call(B.readToken, 'GET', `/api/v1/runs/${B.runId}`);
    assert.equal(run.body.status, 'pending');
    assert.equal(run.body.progress.step, null);
    assert.deepEqual((await api.call(B.readToken, 'GET', `/api/v1/runs/${B.runId}/metrics/keys`)).body, []);
    assert.equal((await api.call(B.readToken, 'GET', `/api/v1/runs/${B.runId}/checkpoints`)).body.length, 1);
    assert.deepEqual((await api.call(B.readToken, 'GET', `/api/v1/runs/${B.runId}/logs`)).body, []);
    assert.equal((await api.call(B.writeToken, 'GET', `/api/v1/projects/${B.id}/tokens`)).status, 200);
  });
});

describe("the same requests on A's own objects", () => {
  for (const c of cases) {
    for (const kind of ['writeToken', 'readToken', 'runToken'] as const) {
      const allowed =
        !c.adminOnly && (kind === 'writeToken' || (kind === 'readToken' ? c.readOk : c.runTokenOk));
      test(`${c.name} with A's ${kind} → ${allowed ? (c.cluster ? '503 (no cluster)' : '2xx') : '403'}`, async () => {
        const r = await api.call(A[kind], c.method, c.path(A), c.body?.(A));
        if (!allowed) assert.equal(r.status, 403, JSON.stringify(r.body));
        else if (c.cluster) assert.equal(r.status, 503, JSON.stringify(r.body));
        else
          assert.ok(
            r.status >= 200 && r.status < 300,
            `${c.method} ${c.path(A)} answered ${r.status} ${JSON.stringify(r.body)}`,
          );
      });
    }
  }
  test('the admin token may do everything', async () => {
    for (const c of cases.filter((x) => !x.cluster)) {
      const r = await api.call(ADMIN, c.method, c.path(A), c.body?.(A));
      assert.ok(r.status < 300 || r.status === 409, `${c.name}: ${r.status} ${JSON.stringify(r.body)}`);
    }
  });
});

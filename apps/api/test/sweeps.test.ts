// Sweep endpoints on a real Postgres and Redis: create validated with @kiln/spec (400 naming each field),
// the "sweep changed" event on the worker's queue, list/get with counts and best trial, trials sorted,
// limits patched, pause/resume/stop transitions, delete, SSE, the per-project limit, access.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createDb, type Db } from '@kiln/db';
import { SWEEP_QUEUE } from '@kiln/spec';
import { Queue } from 'bullmq';
import fc from 'fast-check';
import { seedProject, startApi, type TestApi } from './support/api.js';

const prefix = `kiln-t-${randomBytes(4).toString('hex')}`;
let api: TestApi;
let queue: Queue;
let db: Db;
let p: Awaited<ReturnType<typeof seedProject>>;
let other: Awaited<ReturnType<typeof seedProject>>;

before(async () => {
  process.env.KILN_REDIS_PREFIX = prefix;
  process.env.KILN_MAX_ACTIVE_SWEEPS_PER_PROJECT = '4';
  api = await startApi('sweeps');
  p = await seedProject(api, 'sweeps');
  other = await seedProject(api, 'other');
  db = createDb(api.db.url);
  queue = new Queue(SWEEP_QUEUE, {
    connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    prefix,
  });
});
after(async () => {
  await queue?.obliterate({ force: true }).catch(() => {});
  await queue?.close();
  await db?.close();
  await api?.close();
});

const spec = (o: Record<string, unknown> = {}) => ({
  objective: { metric: 'val/loss', goal: 'minimize' },
  algorithm: { type: 'random', seed: 1 },
  parameters: { lr: { type: 'loguniform', min: 1e-4, max: 1e-1 }, width: { type: 'int', min: 16, max: 256 } },
  maxTrials: 12,
  parallelism: 3,
  trialTemplate: { image: 'kiln-trainer', command: ['kiln', 'fit', 'examples/digits/train.ts'] },
  ...o,
});
const sweep = (name: string, o: Record<string, unknown> = {}) => ({ metadata: { name }, spec: spec(o) });
const create = (body: unknown, token = p.writeToken, query = '') =>
  api.call(token, 'POST', `/api/v1/projects/${p.id}/sweeps${query}`, body);
const paths = (body: { errors?: { path: string }[] }) => (body.errors ?? []).map((e) => e.path);

test('bad sweep documents are 400s naming each field; nothing is recorded', async () => {
  const cases: [unknown, string[]][] = [
    [sweep('a', { maxTrials: undefined }), ['body.spec.maxTrials']],
    [
      sweep('a', { parameters: { lr: { type: 'uniform', min: 1, max: 0.5 } } }),
      ['body.spec.parameters.lr.min'],
    ],
    [sweep('a', { parallelism: 0 }), ['body.spec.parallelism']],
    [sweep('a', { algorithm: { type: 'bayes' } }), ['body.spec.algorithm.type']],
    [sweep('a', { objective: { metric: 'val/loss', goal: 'lowest' } }), ['body.spec.objective.goal']],
    [{ metadata: { name: 'Bad_Name' }, spec: spec() }, ['body.metadata.name']],
    [{ metadata: { name: 'a', namespace: 'elsewhere' }, spec: spec() }, ['body.metadata.namespace']],
    [[1, 2], ['body']],
  ];
  for (const [body, want] of cases) {
    const r = await create(body);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    for (const path of want) assert.ok(paths(r.body).includes(path), `${path} in ${JSON.stringify(r.body)}`);
  }
  const bad = await create(sweep('a'), p.writeToken, '?executor=laptop');
  assert.equal(bad.status, 400);
  assert.deepEqual(paths(bad.body), ['query.executor']);
  const list = await api.call(p.writeToken, 'GET', `/api/v1/projects/${p.id}/sweeps`);
  assert.equal(list.body.total, 0);
});

test('create records the sweep and sends "sweep changed"; get/list show counts and the best trial; trials sort', async () => {
  const r = await create(sweep('lr-search'));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.id as string;
  assert.equal(r.body.status, 'running');
  assert.equal(r.body.namespace, p.namespace);
  assert.equal(r.body.maxTrials, 12);
  assert.equal(r.body.parallelism, 3);
  const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized']);
  assert.ok(
    jobs.some((j) => j.data.sweepId === id),
    JSON.stringify(jobs.map((j) => j.data)),
  );

  const dup = await create(sweep('lr-search'));
  assert.equal(dup.status, 409);
  assert.match(dup.body.message, /already exists/);

  // What the worker writes: trials with values (lower is better here).
  const pool = db.pool;
  const values = [0.5, null, 0.2, 0.9];
  const states = ['complete', 'running', 'complete', 'pruned'];
  for (let n = 0; n < 4; n++)
    await pool.query(
      `INSERT INTO trials (sweep_id, number, params, state, value, job_name) VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        id,
        n,
        JSON.stringify({ lr: 0.01 * (n + 1), width: 32 }),
        states[n],
        n === 3 ? null : values[n],
        `lr-search-${n}`,
      ],
    );
  const got = await api.call(p.readToken, 'GET', `/api/v1/sweeps/${id}`);
  assert.equal(got.status, 200);
  assert.deepEqual(got.body.trials, { total: 4, running: 1, complete: 2, pruned: 1, failed: 0, stopped: 0 });
  assert.equal(got.body.best.number, 2);
  assert.equal(got.body.best.value, 0.2);

  const best = await api.call(p.readToken, 'GET', `/api/v1/sweeps/${id}/trials?sort=best`);
  assert.deepEqual(
    best.body.items.map((t: { number: number }) => t.number),
    [2, 0, 1, 3],
  );
  const desc = await api.call(p.readToken, 'GET', `/api/v1/sweeps/${id}/trials?sort=-number&limit=2`);
  assert.deepEqual(
    desc.body.items.map((t: { number: number }) => t.number),
    [3, 2],
  );
  assert.equal(desc.body.total, 4);
  assert.deepEqual(desc.body.items[0].params, { lr: 0.04, width: 32 });
  const complete = await api.call(p.readToken, 'GET', `/api/v1/sweeps/${id}/trials?state=complete`);
  assert.equal(complete.body.total, 2);
  const badSort = await api.call(p.readToken, 'GET', `/api/v1/sweeps/${id}/trials?sort=loss`);
  assert.equal(badSort.status, 400);
  assert.deepEqual(paths(badSort.body), ['query.sort']);

  const list = await api.call(p.readToken, 'GET', `/api/v1/projects/${p.id}/sweeps?status=running`);
  assert.equal(list.body.total, 1);
  assert.equal(list.body.items[0].best.number, 2);

  // Limits: parallelism up; maxTrials not below the trials already started; bad values named.
  const up = await api.call(p.writeToken, 'PATCH', `/api/v1/sweeps/${id}`, { parallelism: 6 });
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.equal(up.body.parallelism, 6);
  const low = await api.call(p.writeToken, 'PATCH', `/api/v1/sweeps/${id}`, { maxTrials: 3 });
  assert.equal(low.status, 400);
  assert.deepEqual(paths(low.body), ['body.maxTrials']);
  assert.match(low.body.errors[0].message, /≥ 4/);
  for (const body of [{ parallelism: 0 }, { parallelism: 1.5 }, { maxTrials: 'many' }, {}, { seed: 3 }]) {
    const r2 = await api.call(p.writeToken, 'PATCH', `/api/v1/sweeps/${id}`, body);
    assert.equal(r2.status, 400, JSON.stringify(body));
  }
  assert.equal(
    (await api.call(p.readToken, 'PATCH', `/api/v1/sweeps/${id}`, { parallelism: 2 })).status,
    403,
  );
  assert.equal((await api.call(other.writeToken, 'GET', `/api/v1/sweeps/${id}`)).status, 404);
});

test('pause, resume, stop follow their transitions (409 otherwise); only a finished sweep is deleted', async () => {
  const r = await create(sweep('lifecycle'));
  const id = r.body.id as string;
  const act = (a: string) => api.call(p.writeToken, 'POST', `/api/v1/sweeps/${id}/${a}`);
  assert.equal((await act('resume')).status, 409);
  const running = await api.call(p.writeToken, 'DELETE', `/api/v1/sweeps/${id}`);
  assert.equal(running.status, 409);
  assert.match(running.body.message, /is running; stop it/);
  const paused = await act('pause');
  assert.equal(paused.status, 200);
  assert.equal(paused.body.status, 'paused');
  const again = await act('pause');
  assert.equal(again.status, 409);
  assert.match(again.body.message, /it is paused/);
  assert.equal((await act('resume')).body.status, 'running');
  assert.equal((await act('stop')).body.status, 'stopping');
  assert.equal((await act('stop')).status, 409);
  const del = await api.call(p.writeToken, 'DELETE', `/api/v1/sweeps/${id}`);
  assert.equal(del.status, 409);
  assert.match(del.body.message, /is stopping; delete it once it is stopped/);
  assert.equal(
    (await api.call(p.writeToken, 'PATCH', `/api/v1/sweeps/${id}`, { parallelism: 2 })).status,
    409,
  );
  // The worker marks it stopped once its trials are gone.
  await db.pool.query(`UPDATE sweeps SET status = 'stopped' WHERE id = $1`, [id]);
  assert.equal((await api.call(p.writeToken, 'DELETE', `/api/v1/sweeps/${id}`)).status, 204);
  assert.equal((await api.call(p.writeToken, 'GET', `/api/v1/sweeps/${id}`)).status, 404);
  assert.equal((await api.call(p.writeToken, 'POST', `/api/v1/sweeps/not-a-uuid/pause`)).status, 400);
});

test('a project has at most KILN_MAX_ACTIVE_SWEEPS_PER_PROJECT active sweeps', async () => {
  const before = await api.call(p.readToken, 'GET', `/api/v1/projects/${p.id}/sweeps?status=running`);
  const room = 4 - before.body.total;
  for (let i = 0; i < room; i++) assert.equal((await create(sweep(`fill-${i}`))).status, 201);
  const over = await create(sweep('one-too-many'));
  assert.equal(over.status, 409);
  assert.match(over.body.message, /limit/);
});

test('trial updates stream as server-sent events', async () => {
  const r = await api.call(
    other.writeToken,
    'POST',
    `/api/v1/projects/${other.id}/sweeps`,
    sweep('streamed'),
  );
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.id as string;
  const ac = new AbortController();
  const res = await fetch(`${api.url}/api/v1/sweeps/${id}/stream`, {
    headers: { authorization: `Bearer ${other.readToken}`, accept: 'text/event-stream' },
    signal: ac.signal,
  });
  assert.equal(res.status, 200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { event: string; data: { number?: number; state?: string; status?: string } }[] = [];
  const timeout = setTimeout(() => ac.abort(), 15_000);
  let buf = '';
  try {
    await db.pool.query(
      `INSERT INTO trials (sweep_id, number, params, job_name) VALUES ($1, 0, '{"lr":0.01}', 'streamed-0')`,
      [id],
    );
    let updated = false;
    while (!events.some((e) => e.event === 'trial' && e.data.state === 'complete')) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data)
          events.push({ event: /^event: (.*)$/m.exec(block)?.[1] ?? 'message', data: JSON.parse(data) });
      }
      if (!updated && events.some((e) => e.event === 'trial' && e.data.state === 'running')) {
        updated = true;
        await db.pool.query(
          `UPDATE trials SET state = 'complete', value = 0.3, updated_at = now() + interval '1 ms' WHERE sweep_id = $1`,
          [id],
        );
      }
    }
  } finally {
    clearTimeout(timeout);
    ac.abort();
  }
  assert.equal(events[0]?.event, 'sweep');
  assert.equal(events[0]?.data.status, 'running');
  assert.deepEqual(
    events.filter((e) => e.event === 'trial').map((e) => e.data.state),
    ['running', 'complete'],
  );
});

test('300 generated bodies and queries on every sweep route: always an answer below 500', async () => {
  const r = await api.call(other.writeToken, 'POST', `/api/v1/projects/${other.id}/sweeps`, sweep('fuzzed'));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.id as string;
  const weird = fc.oneof(
    fc.jsonValue(),
    fc.constantFrom(-1, 0, 1.5, 2 ** 53, 1e308, '', 'NaN', '\u0000', 'x'.repeat(5000), null, [], {}),
  );
  // Near-valid documents: one field of a valid sweep replaced by something odd.
  const near = fc
    .tuple(
      fc.constantFrom(
        'metadata',
        'spec',
        'objective',
        'algorithm',
        'parameters',
        'maxTrials',
        'parallelism',
        'trialTemplate',
        'env',
      ),
      weird,
    )
    .map(([field, v]) => {
      const doc = sweep(`fz-${Math.random().toString(36).slice(2, 8)}`) as {
        metadata: unknown;
        spec: Record<string, unknown>;
      };
      if (field === 'metadata' || field === 'spec') (doc as Record<string, unknown>)[field] = v;
      else if (field === 'env')
        doc.spec.trialTemplate = { ...(doc.spec.trialTemplate as object), env: [{ name: 'A', value: v }] };
      else doc.spec[field] = v;
      return doc;
    });
  const request = fc.oneof(
    fc.record({
      method: fc.constant('POST'),
      path: fc.constant(`/api/v1/projects/${other.id}/sweeps`),
      body: fc.oneof(weird, near),
    }),
    fc.record({
      method: fc.constant('PATCH'),
      path: fc.constant(`/api/v1/sweeps/${id}`),
      body: fc.oneof(weird, fc.record({ maxTrials: weird, parallelism: weird })),
    }),
    fc.record({
      method: fc.constant('GET'),
      path: fc
        .tuple(fc.constantFrom('sort', 'state', 'limit', 'offset', 'status'), fc.string())
        .map(([k, v]) => `/api/v1/sweeps/${id}/trials?${k}=${encodeURIComponent(v)}`),
      body: fc.constant(undefined),
    }),
  );
  await fc.assert(
    fc.asyncProperty(request, async (q) => {
      const res = await api.call(other.writeToken, q.method, q.path, q.body);
      assert.ok(
        res.status < 500,
        `${q.method} ${q.path} ${JSON.stringify(q.body)?.slice(0, 300)} → ${res.status}`,
      );
    }),
    { numRuns: 300 },
  );
  // The sweep that was there is unharmed.
  const after = await api.call(other.readToken, 'GET', `/api/v1/sweeps/${id}`);
  assert.equal(after.status, 200);
});

// Bad input of every kind gets a 4xx whose message names the field and what was expected.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ADMIN, seedProject, startApi, type TestApi } from './support/api.js';

let api: TestApi;
let s: Awaited<ReturnType<typeof seedProject>>;
const metrics = () => `/api/v1/runs/${s.runId}/metrics`;

before(async () => {
  api = await startApi('validation', { maxBatchPoints: 1000, ingestPointsPerSecond: 5000 });
  s = await seedProject(api, 'val');
});
after(() => api.close());

test('malformed JSON → 400', async () => {
  const r = await api.call(s.runToken, 'POST', metrics(), '{"points": [', {
    'content-type': 'application/json',
  });
  assert.equal(r.status, 400);
  assert.match(r.body.message, /JSON/i);
});

test('missing body → 400 naming the body', async () => {
  const r = await api.call(s.runToken, 'POST', metrics(), undefined);
  assert.equal(r.status, 400);
  assert.match(r.body.message, /body/);
});

test('wrong types → 400 with the field path', async () => {
  const cases: [unknown, RegExp][] = [
    [{ points: [{ key: 'a', step: 1, value: 'high' }] }, /body\.points\[0\]\.value: expected number/],
    [{ points: [{ key: 'a', step: 1.5, value: 1 }] }, /body\.points\[0\]\.step: expected integer/],
    [
      { points: [{ key: 'a', step: -1, value: 1 }] },
      /body\.points\[0\]\.step: expected integer to be greater or equal to 0/,
    ],
    [{ points: [{ key: '', step: 1, value: 1 }] }, /body\.points\[0\]\.key/],
    [{ points: [{ step: 1, value: 1 }] }, /body\.points\[0\]\.key: expected required property/],
    [{ points: [] }, /body: expected at least one point/],
    [{}, /body: expected object to have at least 1 properties/],
    [
      { series: [{ key: 'a', steps: [1, 2], values: [1] }] },
      /body\.series\[0\]\.values: expected 2 items \(one per step\), got 1/,
    ],
    [
      { series: [{ key: 'a', steps: [1], values: [1], times: [] }] },
      /body\.series\[0\]\.times: expected 1 items/,
    ],
    [{ points: 'all' }, /body\.points: expected array/],
    [{ points: [{ key: 'a', step: 1, value: 1, extra: true }] }, /body\.points\[0\]\.extra/],
    [[1, 2], /body/],
  ];
  for (const [body, re] of cases) {
    const r = await api.call(s.runToken, 'POST', metrics(), body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(r.body.message, re);
    assert.ok(Array.isArray(r.body.errors) && r.body.errors[0].path.startsWith('body'));
  }
});

test('NaN and Infinity are refused: bare NaN is not JSON, 1e999 parses to Infinity', async () => {
  const nan = await api.call(s.runToken, 'POST', metrics(), '{"points":[{"key":"a","step":1,"value":NaN}]}', {
    'content-type': 'application/json',
  });
  assert.equal(nan.status, 400);
  const inf = await api.call(
    s.runToken,
    'POST',
    metrics(),
    '{"points":[{"key":"a","step":1,"value":1e999}]}',
    {
      'content-type': 'application/json',
    },
  );
  assert.equal(inf.status, 400);
  assert.match(inf.body.message, /body\.points\[0\]\.value: expected a finite number/);
  const col = await api.call(
    s.runToken,
    'POST',
    metrics(),
    '{"series":[{"key":"a","steps":[1,2],"values":[0,-1e999]}]}',
    {
      'content-type': 'application/json',
    },
  );
  assert.equal(col.status, 400);
  assert.match(col.body.message, /body\.series\[0\]\.values\[1\]: expected a finite number/);
  const str = await api.call(s.runToken, 'POST', metrics(), {
    points: [{ key: 'a', step: 1, value: 'NaN' }],
  });
  assert.equal(str.status, 400);
});

test('a batch over the per-request cap → 413 saying how to fix it', async () => {
  const points = Array.from({ length: 1001 }, (_, i) => ({ key: 'a', step: i, value: i }));
  const r = await api.call(s.runToken, 'POST', metrics(), { points });
  assert.equal(r.status, 413);
  assert.match(r.body.message, /at most 1000 points per request, got 1001; split the batch/);
});

test('columnar batches: one object per key with parallel arrays', async () => {
  const r = await api.call(s.runToken, 'POST', metrics(), {
    series: [
      { key: 'col/a', steps: [1, 2, 3], values: [0.1, 0.2, 0.3], times: [1000, 2000, 3000] },
      { key: 'col/b', steps: [1], values: [5] },
    ],
    points: [{ key: 'col/a', step: 4, value: 0.4 }],
  });
  assert.deepEqual(r.body, { accepted: 5, inserted: 5 });
  const q = await api.call(s.readToken, 'GET', `/api/v1/runs/${s.runId}/metrics/series?key=col/a`);
  assert.deepEqual(
    q.body.points.map((p: { step: number; value: number }) => [p.step, p.value]),
    [
      [1, 0.1],
      [2, 0.2],
      [3, 0.3],
      [4, 0.4],
    ],
  );
  assert.equal(q.body.points[0].time, 1000);
  const big = await api.call(s.runToken, 'POST', metrics(), {
    series: [{ key: 'x', steps: Array.from({ length: 1001 }, (_, i) => i), values: [] }],
  });
  assert.equal(big.status, 413);
});

test('a body over the byte limit → 413', async () => {
  const r = await api.call(
    s.runToken,
    'POST',
    metrics(),
    `{"points":[],"pad":"${'x'.repeat(65 * 1024 * 1024)}"}`,
    {
      'content-type': 'application/json',
    },
  );
  assert.equal(r.status, 413);
});

test('gzip bodies are accepted; other encodings and corrupt gzip are 4xx', async () => {
  const body = gzipSync(JSON.stringify({ points: [{ key: 'z', step: 1, value: 2 }] }));
  const ok = await fetch(api.url + metrics(), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${s.runToken}`,
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    },
    body,
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { accepted: 1, inserted: 1 });
  const br = await api.call(s.runToken, 'POST', metrics(), '{}', {
    'content-type': 'application/json',
    'content-encoding': 'br',
  });
  assert.equal(br.status, 415);
  const bad = await api.call(s.runToken, 'POST', metrics(), 'not gzip at all', {
    'content-type': 'application/json',
    'content-encoding': 'gzip',
  });
  assert.ok(bad.status >= 400 && bad.status < 500, `corrupt gzip: ${bad.status}`);
});

test('unknown runs and malformed ids', async () => {
  const unknown = '00000000-0000-4000-8000-000000000000';
  const r = await api.call(s.writeToken, 'POST', `/api/v1/runs/${unknown}/metrics`, {
    points: [{ key: 'a', step: 1, value: 1 }],
  });
  assert.equal(r.status, 404);
  assert.match(r.body.message, new RegExp(`run ${unknown} not found`));
  const bad = await api.call(s.writeToken, 'GET', '/api/v1/runs/123');
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /params\.runId: expected string to match/);
});

test('query parameters are checked and converted', async () => {
  const r = await api.call(s.readToken, 'GET', `/api/v1/runs/${s.runId}/metrics/series?key=a&maxPoints=two`);
  assert.equal(r.status, 400);
  assert.match(r.body.message, /query\.maxPoints: expected integer/);
  const ok = await api.call(s.readToken, 'GET', `/api/v1/runs/${s.runId}/metrics/series?key=z&maxPoints=10`);
  assert.equal(ok.status, 200);
  assert.equal(ok.body.total, 1);
});

test('missing, malformed, unknown, expired and revoked tokens → 401 saying which', async () => {
  assert.match(
    (await api.call(null, 'GET', '/api/v1/projects')).body.message,
    /missing Authorization header/,
  );
  const basic = await api.call(null, 'GET', '/api/v1/projects', undefined, { authorization: 'Basic abc' });
  assert.equal(basic.status, 401);
  assert.match(basic.body.message, /Bearer/);
  assert.match((await api.call('kiln_p_nope', 'GET', '/api/v1/projects')).body.message, /unknown token/);

  const t = await api.call(ADMIN, 'POST', `/api/v1/projects/${s.id}/tokens`, {
    name: 'short',
    scope: 'read',
    expiresInSeconds: 1,
  });
  assert.equal((await api.call(t.body.token, 'GET', '/api/v1/projects')).status, 200);
  await new Promise((r) => setTimeout(r, 1100));
  const expired = await api.call(t.body.token, 'GET', '/api/v1/projects');
  assert.equal(expired.status, 401);
  assert.match(expired.body.message, /expired/);

  const v = await api.call(ADMIN, 'POST', `/api/v1/projects/${s.id}/tokens`, {
    name: 'soon-revoked',
    scope: 'write',
  });
  assert.equal((await api.call(v.body.token, 'GET', '/api/v1/projects')).status, 200);
  assert.equal((await api.call(s.writeToken, 'DELETE', `/api/v1/tokens/${v.body.id}`)).status, 204);
  const revoked = await api.call(v.body.token, 'GET', '/api/v1/projects');
  assert.equal(revoked.status, 401);
  assert.match(revoked.body.message, /revoked/);
});

test('ingest is rate-limited per project in points, with Retry-After; more tokens do not raise it', async () => {
  const rl = await seedProject(api, 'val-rl');
  const mint = async (name: string) =>
    (await api.call(rl.writeToken, 'POST', `/api/v1/projects/${rl.id}/tokens`, { name, scope: 'write' })).body
      .token as string;
  // Four tokens of one project, 8 batches of 1,000 each at once: within what a per-token bucket (2 s'
  // worth, 10,000) would let through, more than three times the project's bucket.
  const tokens = [rl.runToken, rl.writeToken, await mint('m1'), await mint('m2')];
  const answers = await Promise.all(
    Array.from({ length: 32 }, (_, i) =>
      fetch(`${api.url}/api/v1/runs/${rl.runId}/metrics`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens[i % 4]}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          points: Array.from({ length: 1000 }, (_, j) => ({ key: 'a', step: i * 1000 + j, value: j })),
        }),
      }),
    ),
  );
  assert.ok(answers.every((r) => r.status === 200 || r.status === 429));
  const limited = answers.find((r) => r.status === 429);
  assert.ok(limited, `a burst past the project's bucket got 429: ${answers.map((r) => r.status)}`);
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  assert.match(
    ((await limited.json()) as { message: string }).message,
    /rate limit of 5000 points\/s per project/,
  );
  // Another project has its own bucket.
  const other = await api.call(s.runToken, 'POST', metrics(), { points: [{ key: 'a', step: 99, value: 1 }] });
  assert.equal(other.status, 200);
});

test('values Postgres cannot store are 400s, not 500s', async () => {
  const nul = await api.call(s.writeToken, 'POST', `/api/v1/projects/${s.id}/runs`, { name: 'a\u0000b' });
  assert.equal(nul.status, 400, JSON.stringify(nul.body));
  assert.match(nul.body.message, /invalid value/);
  const hp = await api.call(s.runToken, 'PATCH', `/api/v1/runs/${s.runId}`, {
    hyperparams: { note: 'x\u0000' },
  });
  assert.equal(hp.status, 400, JSON.stringify(hp.body));
  const far = await api.call(s.runToken, 'POST', metrics(), {
    points: [{ key: 'a', step: 1, value: 1, time: 1e300 }],
  });
  assert.equal(far.status, 400);
  assert.match(
    far.body.message,
    /body\.points\[0\]\.time: expected number to be less or equal to 8640000000000000/,
  );
});

test('unknown routes → 404, wrong method → 404', async () => {
  assert.equal((await api.call(s.writeToken, 'GET', '/api/v1/nothing')).status, 404);
  assert.equal((await api.call(s.writeToken, 'PUT', `/api/v1/runs/${s.runId}`)).status, 404);
});

test('job endpoints without a cluster → 503 that says so; bad job specs are checked first by @kiln/spec', async () => {
  const r = await api.call(s.writeToken, 'GET', `/api/v1/projects/${s.id}/jobs`);
  assert.equal(r.status, 503);
  assert.match(r.body.message, /no Kubernetes cluster is configured/);
  const bad = await api.call(s.writeToken, 'POST', `/api/v1/projects/${s.id}/jobs`, {
    metadata: { name: 'j' },
    spec: { image: 'x', command: ['kiln'], workers: 0 },
  });
  assert.equal(bad.status, 400, JSON.stringify(bad.body));
  assert.match(bad.body.message, /body\.spec\.workers/);
  const ns = await api.call(s.writeToken, 'POST', `/api/v1/projects/${s.id}/jobs`, {
    metadata: { name: 'j', namespace: 'elsewhere' },
    spec: { image: 'x', command: ['kiln'], workers: 1 },
  });
  assert.equal(ns.status, 400);
  assert.match(ns.body.message, /body\.metadata\.namespace: must be the project's namespace/);
});

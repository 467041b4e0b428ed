// Issue 14 ("API hardening"), items 3-8, each as an outside client would try it: inputs that used to get
// 500s, live streams of revoked tokens, per-tenant limits, silently altered values, an existence leak, and
// the OpenAPI document's contract; and the cause of item 1's stall. (Item 1's event-loop figures are
// stall.test.ts, item 2 concurrency.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { seedProject, startApi, type TestApi } from './support/api.js';

let api: TestApi;
let s: Awaited<ReturnType<typeof seedProject>>;
let other: Awaited<ReturnType<typeof seedProject>>;

before(async () => {
  api = await startApi('hardening', {
    maxKeysPerRun: 50,
    logTailLines: 20,
    logRunLines: 30,
    maxTokensPerProject: 6,
    maxHyperparamBytes: 10_000,
  });
  s = await seedProject(api, 'hard');
  other = await seedProject(api, 'hard-other');
});
after(() => api.close());

const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const run = (path = '') => `/api/v1/runs/${s.runId}${path}`;

// The stall came from trimming an oversized NOTIFY payload line by line: live updates now carry ids and
// counts only. Listening on the API's own channel, the largest batches give small notifications.
test('item 1: live updates stay small whatever the request held (ids and counts over NOTIFY)', async () => {
  const own = await seedProject(api, 'hard-notify');
  const url = (path: string) => `/api/v1/runs/${own.runId}${path}`;
  const listener = new pg.Client({ connectionString: api.db.url });
  await listener.connect();
  const payloads: string[] = [];
  listener.on('notification', (n) => payloads.push(n.payload ?? ''));
  await listener.query('LISTEN kiln_live');
  try {
    const line = 'x'.repeat(4096);
    const logs = await api.call(own.runToken, 'POST', url('/logs'), {
      worker: 'w0',
      lines: Array.from({ length: 1000 }, () => line),
    });
    assert.equal(logs.status, 200, JSON.stringify(logs.body));
    // Keys long enough that naming them all would not fit: the event gives their count instead.
    const keys = Array.from({ length: 40 }, (_, k) => `${'k'.repeat(150)}${k}`);
    const metrics = await api.call(own.runToken, 'POST', url('/metrics'), {
      points: Array.from({ length: 20_000 }, (_, i) => ({ key: keys[i % 40], step: i, value: i })),
    });
    assert.equal(metrics.status, 200, JSON.stringify(metrics.body));
    for (let i = 0; i < 100 && !payloads.some((p) => p.includes('"points"')); i++)
      await new Promise((r) => setTimeout(r, 50));
    const types = payloads.map((p) => JSON.parse(p).type);
    assert.ok(types.includes('logs') && types.includes('points'), `notified: ${types}`);
    for (const p of payloads)
      assert.ok(p.length < 1024, `a ${p.length}-byte notification: ${p.slice(0, 200)}`);
    assert.equal(JSON.parse(payloads.find((p) => p.includes('"points"'))!).keyCount, 40);
  } finally {
    await listener.end();
  }
});

describe('item 3: 500s that are 400s', () => {
  test('hyperparameters nested 10,000 levels → 400 naming the depth', async () => {
    const r = await api.call(
      s.writeToken,
      'POST',
      `/api/v1/projects/${s.id}/runs`,
      `{"name":"deep","hyperparams":${nested(10_000)}}`,
      {
        'content-type': 'application/json',
      },
    );
    assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 300));
    assert.match(r.body.message, /body\.hyperparams(\.a)+: nested deeper than 64 levels/);
  });

  test('a job spec nested 10,000 levels → 400 (before the cluster is asked)', async () => {
    const r = await api.call(
      s.writeToken,
      'POST',
      `/api/v1/projects/${s.id}/jobs`,
      `{"metadata":{"name":"deep"},"spec":${nested(10_000)}}`,
      { 'content-type': 'application/json' },
    );
    assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 300));
    assert.match(r.body.message, /nested deeper than 64 levels/);
  });

  test('epoch 1e20 on a checkpoint or progress, offset 1e20 → 400 naming the field', async () => {
    const ck = await api.call(s.runToken, 'POST', run('/checkpoints'), {
      step: 1,
      epoch: 1e20,
      path: '/c',
      sizeBytes: 1,
      sha256: 'a'.repeat(64),
    });
    assert.equal(ck.status, 400);
    assert.match(ck.body.message, /body\.epoch: expected integer to be less or equal to 2147483647/);
    const pr = await api.call(s.runToken, 'PATCH', run(), { progress: { step: 1, epoch: 1e20 } });
    assert.equal(pr.status, 400);
    assert.match(pr.body.message, /body\.progress\.epoch/);
    const size = await api.call(s.runToken, 'POST', run('/checkpoints'), {
      step: 1,
      epoch: 0,
      path: '/c',
      sizeBytes: 1e20,
      sha256: 'a'.repeat(64),
    });
    assert.equal(size.status, 400);
    assert.match(size.body.message, /body\.sizeBytes/);
    const off = await api.call(
      s.readToken,
      'GET',
      `/api/v1/projects/${s.id}/runs?offset=99999999999999999999`,
    );
    assert.equal(off.status, 400);
    assert.match(off.body.message, /query\.offset/);
  });

  test('a metric key with a lone surrogate → 400, and no series row is left behind', async () => {
    const r = await api.call(
      s.runToken,
      'POST',
      run('/metrics'),
      '{"points":[{"key":"a\\ud800","step":1,"value":1}]}',
      {
        'content-type': 'application/json',
      },
    );
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.message, /body\.points\[0\]\.key: expected well-formed Unicode/);
    const cols = await api.call(
      s.runToken,
      'POST',
      run('/metrics'),
      '{"series":[{"key":"\\udc00","steps":[1],"values":[1]}]}',
      {
        'content-type': 'application/json',
      },
    );
    assert.equal(cols.status, 400);
    const keys = await api.call(s.readToken, 'GET', run('/metrics/keys'));
    assert.deepEqual(keys.body, []);
  });
});

describe('item 4: live streams re-check their token', () => {
  async function openStream(token: string) {
    const res = await fetch(api.url + run('/stream'), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    return async () => {
      // Ends (done) once the server closes the stream; a generous bound only against hanging forever.
      const bound = setTimeout(() => void reader.cancel(), 30_000);
      try {
        for (;;) if ((await reader.read()).done) return true;
      } catch {
        return false;
      } finally {
        clearTimeout(bound);
      }
    };
  }

  test('a stream opened before its token is revoked closes', async () => {
    const t = await api.call(s.writeToken, 'POST', `/api/v1/projects/${s.id}/tokens`, {
      name: 'sse',
      scope: 'read',
    });
    const ended = await openStream(t.body.token);
    assert.equal((await api.call(s.writeToken, 'DELETE', `/api/v1/tokens/${t.body.id}`)).status, 204);
    assert.equal(await ended(), true, 'the server closed the stream');
  });

  test('a stream closes when its token expires', async () => {
    const t = await api.call(s.writeToken, 'POST', `/api/v1/projects/${s.id}/tokens`, {
      name: 'sse-exp',
      scope: 'read',
      expiresInSeconds: 2,
    });
    const ended = await openStream(t.body.token);
    assert.equal(await ended(), true, 'the server closed the stream');
    await api.call(s.writeToken, 'DELETE', `/api/v1/tokens/${t.body.id}`);
  });
});

describe('item 5: per-project and per-run limits', () => {
  test('hyperparameters over the size limit → 400 saying the limit', async () => {
    const r = await api.call(s.writeToken, 'POST', `/api/v1/projects/${s.id}/runs`, {
      name: 'big',
      hyperparams: { blob: 'x'.repeat(20_000) },
    });
    assert.equal(r.status, 400);
    assert.match(
      r.body.message,
      /body\.hyperparams: at most 10000 bytes of JSON \(KILN_MAX_HYPERPARAM_BYTES\)/,
    );
  });

  test('keys per run: a batch taking a run past its limit → 409, nothing stored', async () => {
    const fresh = await api.call(s.writeToken, 'POST', `/api/v1/projects/${s.id}/runs`, {
      name: 'keys',
      issueToken: true,
    });
    const points = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, step: 0, value: i }));
    const path = `/api/v1/runs/${fresh.body.id}/metrics`;
    assert.equal((await api.call(fresh.body.token, 'POST', path, { points: points(40, 'a') })).status, 200);
    const over = await api.call(fresh.body.token, 'POST', path, { points: points(11, 'b') });
    assert.equal(over.status, 409);
    assert.match(over.body.message, /run would have 51 metric keys; the limit is 50 per run/);
    assert.equal((await api.call(fresh.body.token, 'POST', path, { points: points(10, 'b') })).status, 200);
    const keys = await api.call(s.readToken, 'GET', `/api/v1/runs/${fresh.body.id}/metrics/keys`);
    assert.equal(keys.body.length, 50);
  });

  test('log lines per run: many workers do not multiply what a run keeps', async () => {
    for (let w = 0; w < 5; w++)
      await api.call(s.runToken, 'POST', run('/logs'), {
        worker: `w${w}`,
        lines: Array.from({ length: 20 }, (_, i) => `w${w} line ${i}`),
      });
    const tail = await api.call(s.readToken, 'GET', `${run('/logs')}?limit=1000`);
    assert.equal(tail.body.length, 30);
    assert.equal(tail.body.at(-1).line, 'w4 line 19', 'the newest lines are kept');
  });

  test('tokens per project are capped; a child token expires no later than its parent', async () => {
    const p = await seedProject(api, 'hard-tokens'); // 2 tokens (write, read) + a run token
    const mint = (token: string, body: object) =>
      api.call(token, 'POST', `/api/v1/projects/${p.id}/tokens`, { name: 't', scope: 'read', ...body });
    const short = await mint(p.writeToken, { scope: 'write', expiresInSeconds: 60 });
    assert.equal(short.status, 201);
    const forever = await mint(short.body.token, {});
    assert.equal(forever.status, 400);
    assert.match(forever.body.message, /body\.expiresInSeconds: this token expires in \d+ s/);
    assert.equal((await mint(short.body.token, { expiresInSeconds: 3600 })).status, 400);
    assert.equal((await mint(short.body.token, { expiresInSeconds: 30 })).status, 201);
    assert.equal((await mint(p.writeToken, {})).status, 201); // 5 read/write tokens now
    assert.equal((await mint(p.writeToken, {})).status, 201); // 6
    const capped = await mint(p.writeToken, {});
    assert.equal(capped.status, 409);
    assert.match(capped.body.message, /KILN_MAX_TOKENS_PER_PROJECT=6/);
    // A run token cannot mint at all.
    assert.equal((await mint(p.runToken, {})).status, 403);
  });
});

describe('item 6: values are refused, not altered', () => {
  test('hyperparameters 1e999 → 400 (not stored as null)', async () => {
    const r = await api.call(
      s.writeToken,
      'POST',
      `/api/v1/projects/${s.id}/runs`,
      '{"name":"inf","hyperparams":{"lr":1e999}}',
      {
        'content-type': 'application/json',
      },
    );
    assert.equal(r.status, 400);
    assert.match(r.body.message, /body\.hyperparams\.lr: expected a finite number/);
  });

  test('a body in another charset → 415; utf-8 declared or not is read', async () => {
    const latin = await api.call(
      s.writeToken,
      'POST',
      `/api/v1/projects/${s.id}/runs`,
      '{"name":"caf\u00e9"}',
      {
        'content-type': 'application/json; charset=latin1',
      },
    );
    assert.equal(latin.status, 415);
    assert.match(latin.body.message, /unsupported charset latin1/);
    const utf8 = await api.call(
      s.writeToken,
      'POST',
      `/api/v1/projects/${s.id}/runs`,
      '{"name":"caf\u00e9"}',
      {
        'content-type': 'application/json; charset=UTF-8',
      },
    );
    assert.equal(utf8.status, 201);
    assert.equal(utf8.body.name, 'caf\u00e9');
  });
});

test("item 7: another project's token id answers exactly as an unknown one", async () => {
  const unknown = '00000000-0000-4000-8000-000000000000';
  const a = await api.call(s.writeToken, 'DELETE', `/api/v1/tokens/${other.writeTokenId}`);
  const b = await api.call(s.writeToken, 'DELETE', `/api/v1/tokens/${unknown}`);
  assert.equal(a.status, 404);
  assert.equal(b.status, 404);
  assert.equal(a.body.message.replace(other.writeTokenId, 'ID'), b.body.message.replace(unknown, 'ID'));
  assert.equal((await api.call(other.writeToken, 'GET', '/api/v1/projects')).status, 200, 'not revoked');
});

describe('item 8: the OpenAPI document', () => {
  // biome-ignore lint/suspicious/noExplicitAny: the document is arbitrary JSON.
  let doc: any;
  before(async () => {
    doc = (await api.call(null, 'GET', '/api/docs/openapi.json')).body;
  });
  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      // biome-ignore lint/suspicious/noExplicitAny: as above.
      Object.entries(item as Record<string, any>).map(([method, op]) => ({ path, method, op })),
    );

  test('declares 3.1; an opaque bearer scheme (no JWT)', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(Object.keys(doc.components.securitySchemes), ['bearer']);
    assert.equal(doc.components.securitySchemes.bearer.bearerFormat, undefined);
  });

  test('every operation documents its success answer with a schema, and its error codes', () => {
    for (const { path, method, op } of operations()) {
      const codes = Object.keys(op.responses);
      const ok = codes.filter((c) => c.startsWith('2'));
      assert.equal(ok.length, 1, `${method} ${path}: ${codes}`);
      const success = op.responses[ok[0]!];
      if (ok[0] !== '204') assert.ok(success.content, `${method} ${path}: success schema`);
      if (path !== '/healthz')
        assert.ok(
          codes.some((c) => c.startsWith('4') || c.startsWith('5')),
          `${method} ${path}`,
        );
      if (!['/healthz', '/readyz'].includes(path))
        for (const c of ['400', '401', '403', '404'])
          assert.ok(codes.includes(c), `${method} ${path} documents ${c}`);
    }
  });

  test('query parameters, UUID path ids, the jobs body and the event streams are documented', () => {
    const op = (p: string, m: string) => doc.paths[p][m];
    const names = (p: string, m: string) =>
      op(p, m)
        .parameters.filter((x: { in: string }) => x.in === 'query')
        .map((x: { name: string }) => x.name);
    assert.deepEqual(names('/api/v1/runs/{runId}/metrics/series', 'get').sort(), [
      'fromStep',
      'key',
      'maxPoints',
      'toStep',
    ]);
    assert.deepEqual(names('/api/v1/projects/{projectId}/metrics/compare', 'get').sort(), [
      'key',
      'maxPoints',
      'runIds',
    ]);
    assert.ok(names('/api/v1/projects/{projectId}/runs', 'get').includes('offset'));
    assert.ok(names('/api/v1/runs/{runId}/logs', 'get').includes('worker'));
    assert.ok(names('/api/v1/projects/{projectId}/jobs', 'get').includes('phase'));
    for (const { path, op: o } of operations())
      for (const p of o.parameters ?? [])
        if (p.in === 'path' && p.name.endsWith('Id'))
          assert.equal(p.schema.format, 'uuid', `${path} ${p.name}`);
    assert.ok(
      op('/api/v1/projects/{projectId}/jobs', 'post').requestBody.content['application/json'].schema
        .properties.spec,
    );
    for (const p of ['/api/v1/runs/{runId}/stream', '/api/v1/runs/{runId}/logs/stream'])
      assert.ok(op(p, 'get').responses['200'].content['text/event-stream'], p);
  });

  test('query integers are read strictly: 1e300 and 4.5 are refused, not read as 1 and 4', async () => {
    for (const q of ['toStep=1e300', 'maxPoints=4.5', 'fromStep=0x10', 'maxPoints=%2010']) {
      const r = await api.call(s.readToken, 'GET', `${run('/metrics/series')}?key=a&${q}`);
      assert.equal(r.status, 400, q);
      assert.match(r.body.message, /expected integer \(decimal digits only\)/, q);
    }
    assert.equal(
      (await api.call(s.readToken, 'GET', `${run('/metrics/series')}?key=a&maxPoints=10&toStep=99`)).status,
      200,
    );
  });
});

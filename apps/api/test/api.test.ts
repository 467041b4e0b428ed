// The API end to end on real Postgres: ingest, series, compare, checkpoints, logs, live events, docs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createApp } from '../src/app.js';
import { ADMIN, seedProject, startApi, type TestApi } from './support/api.js';

let api: TestApi;
let s: Awaited<ReturnType<typeof seedProject>>;

before(async () => {
  api = await startApi('api', { logTailLines: 50 });
  s = await seedProject(api, 'main');
});
after(() => api.close());

// biome-ignore lint/suspicious/noExplicitAny: event payloads are arbitrary JSON.
type SseEvent = { event: string; data: any };

/** Reads server-sent events from `path` until `until` returns true for the events so far. */
async function sse(
  path: string,
  token: string,
  trigger: () => Promise<unknown>,
  until: (events: SseEvent[]) => boolean,
) {
  const ac = new AbortController();
  const res = await fetch(api.url + path, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: ac.signal,
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: SseEvent[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  await trigger();
  let buf = '';
  const deadline = setTimeout(() => ac.abort(), 10_000);
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data) events.push({ event, data: JSON.parse(data) });
      }
    }
  } finally {
    clearTimeout(deadline);
    ac.abort();
  }
  return events;
}

test('ingest is idempotent over HTTP: a retried batch inserts nothing', async () => {
  const points = Array.from({ length: 2000 }, (_, i) => ({
    key: i % 2 ? 'train/loss' : 'val/acc',
    step: Math.floor(i / 2),
    value: i / 10,
  }));
  const first = await api.call(s.runToken, 'POST', `/api/v1/runs/${s.runId}/metrics`, { points });
  assert.deepEqual(first.body, { accepted: 2000, inserted: 2000 });
  const again = await api.call(s.runToken, 'POST', `/api/v1/runs/${s.runId}/metrics`, { points });
  assert.deepEqual(again.body, { accepted: 2000, inserted: 0 });
  const keys = await api.call(s.readToken, 'GET', `/api/v1/runs/${s.runId}/metrics/keys`);
  assert.deepEqual(keys.body, [
    { key: 'train/loss', count: 1000, lastStep: 999 },
    { key: 'val/acc', count: 1000, lastStep: 999 },
  ]);
  const series = await api.call(
    s.readToken,
    'GET',
    `/api/v1/runs/${s.runId}/metrics/series?key=train/loss&maxPoints=100`,
  );
  assert.equal(series.body.total, 1000);
  assert.equal(series.body.downsampled, true);
  assert.ok(series.body.points.length <= 100);
  const values = series.body.points.map((p: { value: number }) => p.value);
  assert.equal(Math.max(...values), 199.9);
  assert.equal(Math.min(...values), 0.1);
});

test('a series batch answers each key as the single-series read does, in the order asked', async () => {
  const base = `/api/v1/runs/${s.runId}/metrics/series`;
  const batch = await api.call(
    s.readToken,
    'GET',
    `${base}/batch?key=val/acc&key=train/loss&key=never/logged&key=val/acc&maxPoints=100&fromStep=10`,
  );
  assert.equal(batch.status, 200);
  assert.equal(batch.body.runId, s.runId);
  assert.deepEqual(
    batch.body.series.map((x: { key: string }) => x.key),
    ['val/acc', 'train/loss', 'never/logged'],
  );
  for (const one of batch.body.series.slice(0, 2)) {
    const single = await api.call(
      s.readToken,
      'GET',
      `${base}?key=${encodeURIComponent(one.key)}&maxPoints=100&fromStep=10`,
    );
    const { runId: _, ...expected } = single.body;
    assert.deepEqual(one, expected);
    assert.ok(one.downsampled && one.points[0].step === 10);
  }
  assert.deepEqual(batch.body.series[2], { key: 'never/logged', points: [], total: 0, downsampled: false });
  // Bad input names the field; nothing is read.
  const none = await api.call(s.readToken, 'GET', `${base}/batch?maxPoints=100`);
  assert.equal(none.status, 400);
  assert.match(none.body.message, /query\.key/);
  const many = Array.from({ length: 51 }, (_, i) => `key=k${i}`).join('&');
  const tooMany = await api.call(s.readToken, 'GET', `${base}/batch?${many}`);
  assert.equal(tooMany.status, 400);
  assert.match(tooMany.body.message, /query\.key: expected array length to be less or equal to 50/i);
  const badPoints = await api.call(s.readToken, 'GET', `${base}/batch?key=a&maxPoints=4.5`);
  assert.equal(badPoints.status, 400);
  assert.match(badPoints.body.message, /query\.maxPoints/);
});

test('compare returns one downsampled series per run', async () => {
  const r2 = await api.call(s.writeToken, 'POST', `/api/v1/projects/${s.id}/runs`, {
    name: 'run-2',
    hyperparams: { lr: 0.1 },
  });
  await api.call(s.writeToken, 'POST', `/api/v1/runs/${r2.body.id}/metrics`, {
    points: [1, 2, 3].map((step) => ({ key: 'train/loss', step, value: 10 - step })),
  });
  const c = await api.call(
    s.readToken,
    'GET',
    `/api/v1/projects/${s.id}/metrics/compare?runIds=${s.runId},${r2.body.id}&key=train/loss&maxPoints=40`,
  );
  assert.equal(c.status, 200);
  assert.deepEqual(
    c.body.series.map((x: { runId: string; total: number }) => [x.runId, x.total]),
    [
      [s.runId, 1000],
      [r2.body.id, 3],
    ],
  );
  assert.ok(c.body.series[0].points.length <= 40);
  const list = await api.call(s.readToken, 'GET', `/api/v1/projects/${s.id}/runs?sort=name&limit=1&offset=1`);
  assert.equal(list.body.total, 2);
  assert.equal(list.body.items[0].name, 'run-2');
  assert.deepEqual(list.body.items[0].hyperparams, { lr: 0.1 });
});

test('progress and status updates; terminal status sets finishedAt and records an event', async () => {
  const p = await api.call(s.runToken, 'PATCH', `/api/v1/runs/${s.runId}`, {
    status: 'running',
    progress: { step: 250, totalSteps: 1000, epoch: 1, etaSeconds: 30, metrics: { 'train/loss': 0.2 } },
  });
  assert.equal(p.status, 200);
  assert.deepEqual(p.body.progress, {
    step: 250,
    totalSteps: 1000,
    epoch: 1,
    etaSeconds: 30,
    percent: 25,
    metrics: { 'train/loss': 0.2 },
  });
  assert.ok(p.body.startedAt);
  const done = await api.call(s.runToken, 'PATCH', `/api/v1/runs/${s.runId}`, { status: 'succeeded' });
  assert.ok(done.body.finishedAt);
  const ev = await api.call(s.readToken, 'GET', `/api/v1/runs/${s.runId}/events`);
  assert.deepEqual(
    ev.body.map((e: { type: string; message: string }) => e.message),
    ['run run-1 created', 'pending → running', 'running → succeeded'],
  );
});

test('checkpoints: register is idempotent on path, one best and one last per run, mark best', async () => {
  const ck = (step: number, extra = {}) => ({
    step,
    epoch: 0,
    path: `/c/${step}`,
    sizeBytes: 100,
    sha256: 'b'.repeat(64),
    metrics: { 'val/loss': 1 / step },
    ...extra,
  });
  const a = await api.call(
    s.runToken,
    'POST',
    `/api/v1/runs/${s.runId}/checkpoints`,
    ck(10, { isBest: true, isLast: true }),
  );
  const b = await api.call(
    s.runToken,
    'POST',
    `/api/v1/runs/${s.runId}/checkpoints`,
    ck(20, { isLast: true }),
  );
  await api.call(s.runToken, 'POST', `/api/v1/runs/${s.runId}/checkpoints`, ck(20, { isLast: true }));
  let list = (await api.call(s.readToken, 'GET', `/api/v1/runs/${s.runId}/checkpoints`)).body;
  assert.deepEqual(
    list.map((c: { step: number; isBest: boolean; isLast: boolean }) => [c.step, c.isBest, c.isLast]),
    [
      [10, true, false],
      [20, false, true],
    ],
  );
  const best = await api.call(s.runToken, 'POST', `/api/v1/runs/${s.runId}/checkpoints/${b.body.id}/best`);
  assert.equal(best.body.isBest, true);
  list = (await api.call(s.readToken, 'GET', `/api/v1/runs/${s.runId}/checkpoints`)).body;
  assert.deepEqual(
    list.map((c: { id: string; isBest: boolean }) => c.isBest),
    [false, true],
  );
  assert.equal(list[0].id, a.body.id);
});

test('log tail is bounded per worker and kept in order', async () => {
  for (let i = 0; i < 3; i++)
    await api.call(s.runToken, 'POST', `/api/v1/runs/${s.runId}/logs`, {
      worker: 'w0',
      lines: Array.from({ length: 30 }, (_, j) => `line ${i * 30 + j}`),
    });
  await api.call(s.runToken, 'POST', `/api/v1/runs/${s.runId}/logs`, { worker: 'w1', lines: ['other'] });
  const w0 = (await api.call(s.readToken, 'GET', `/api/v1/runs/${s.runId}/logs?worker=w0&limit=1000`)).body;
  assert.equal(w0.length, 50);
  assert.equal(w0[0].line, 'line 40');
  assert.equal(w0.at(-1).line, 'line 89');
  const all = (await api.call(s.readToken, 'GET', `/api/v1/runs/${s.runId}/logs?limit=2`)).body;
  assert.deepEqual(
    all.map((l: { worker: string; line: string }) => `${l.worker}:${l.line}`),
    ['w0:line 89', 'w1:other'],
  );
  // Ids increase with each line appended: a reader merges a tail with a stream by them.
  assert.ok(all[0].id < all[1].id && w0.every((l: { id: number }, i: number) => !i || l.id > w0[i - 1].id));
});

test('live stream: status, progress and new points arrive as server-sent events', async () => {
  const run = await api.call(s.writeToken, 'POST', `/api/v1/projects/${s.id}/runs`, {
    name: 'live',
    issueToken: true,
  });
  const id = run.body.id;
  const events = await sse(
    `/api/v1/runs/${id}/stream`,
    s.readToken,
    async () => {
      await api.call(run.body.token, 'PATCH', `/api/v1/runs/${id}`, {
        status: 'running',
        progress: { step: 1 },
      });
      await api.call(run.body.token, 'POST', `/api/v1/runs/${id}/metrics`, {
        points: [{ key: 'loss', step: 1, value: 1 }],
      });
    },
    (ev) => ev.some((e) => e.event === 'points'),
  );
  assert.deepEqual(
    events.map((e) => e.event),
    ['status', 'progress', 'points'],
  );
  assert.deepEqual(events[2]?.data, { type: 'points', runId: id, keys: ['loss'], lastStep: 1, inserted: 1 });
});

test('live updates cross replicas: points ingested through another API process on the same database', async () => {
  const second = await createApp({ ...api.app.config, port: 0 }, { jobs: null, logger: false });
  try {
    const events = await sse(
      `/api/v1/runs/${s.runId}/stream`,
      s.readToken,
      async () => {
        const r = await fetch(`${second.url}/api/v1/runs/${s.runId}/metrics`, {
          method: 'POST',
          headers: { authorization: `Bearer ${s.runToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ series: [{ key: 'replica', steps: [5], values: [1] }] }),
        });
        assert.equal(r.status, 200);
      },
      (ev) => ev.some((e) => e.event === 'points'),
    );
    assert.deepEqual(events.at(-1)?.data, {
      type: 'points',
      runId: s.runId,
      keys: ['replica'],
      lastStep: 5,
      inserted: 1,
    });
  } finally {
    await second.close();
  }
});

test('log stream delivers appended lines', async () => {
  const events = await sse(
    `/api/v1/runs/${s.runId}/logs/stream?worker=w3`,
    s.readToken,
    async () => {
      await api.call(s.runToken, 'POST', `/api/v1/runs/${s.runId}/logs`, {
        worker: 'w2',
        lines: ['not this'],
      });
      await api.call(s.runToken, 'POST', `/api/v1/runs/${s.runId}/logs`, { worker: 'w3', lines: ['a', 'b'] });
    },
    (ev) => ev.length >= 1,
  );
  assert.deepEqual(events[0]?.data.lines, ['a', 'b']);
  const tail = (await api.call(s.readToken, 'GET', `/api/v1/runs/${s.runId}/logs?worker=w3`)).body;
  assert.deepEqual(
    events[0]?.data.ids,
    tail.map((l: { id: number }) => l.id),
  );
});

test('OpenAPI document, health, readiness and Prometheus metrics', async () => {
  const doc = await api.call(null, 'GET', '/api/docs/openapi.json');
  assert.equal(doc.status, 200);
  assert.ok(doc.body.paths['/api/v1/runs/{runId}/metrics'].post);
  assert.equal(
    doc.body.paths['/api/v1/runs/{runId}/metrics'].post.requestBody.content['application/json'].schema
      .properties.points.type,
    'array',
  );
  assert.equal((await fetch(`${api.url}/api/docs`)).status, 200);
  assert.deepEqual((await api.call(null, 'GET', '/healthz')).body, { status: 'ok' });
  assert.equal((await api.call(null, 'GET', '/readyz')).body.database, 'ok');
  const m = await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const text = await m.text();
  assert.match(text, /kiln_ingest_points_inserted_total \d+/);
  assert.match(text, /kiln_api_request_duration_seconds_bucket\{.*route="\/api\/v1\/runs\/:runId\/metrics"/);
  const inserted = Number(/kiln_ingest_points_inserted_total (\d+)/.exec(text)?.[1]);
  assert.ok(inserted >= 2004, `inserted ${inserted}`);
});

// 1,200 generated requests (fast-check) over every route: bodies near valid and far from it, wrong ids,
// odd query strings, every kind of token. Whatever they are, the API answers below 500.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { ADMIN, seedProject, startApi, type TestApi } from './support/api.js';

let api: TestApi;
let s: Awaited<ReturnType<typeof seedProject>>;
let other: Awaited<ReturnType<typeof seedProject>>;

before(async () => {
  api = await startApi('fuzz');
  s = await seedProject(api, 'fuzz');
  other = await seedProject(api, 'fuzz-other');
});
after(() => api.close());

const weird = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(
    -1,
    0,
    1.5,
    2 ** 53,
    -(2 ** 63),
    1e308,
    '',
    ' ',
    'NaN',
    '\u0000',
    'a'.repeat(5000),
    null,
    [],
    {},
  ),
  fc.string(),
  fc.string({ unit: 'binary' }), // any code point, NUL and lone surrogates included
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const point = fc.record(
  {
    key: fc.oneof(fc.constantFrom('loss', 'val/acc'), fc.string()),
    step: fc.oneof(fc.nat(), weird),
    value: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), weird),
    time: weird,
  },
  { requiredKeys: [] },
);
const bodies = fc.oneof(
  weird,
  fc.record({ points: fc.oneof(fc.array(point, { maxLength: 20 }), weird) }),
  fc.record(
    {
      series: fc.oneof(
        fc.array(
          fc.record(
            {
              key: fc.oneof(fc.constant('loss'), weird),
              steps: fc.oneof(fc.array(fc.nat(), { maxLength: 5 }), weird),
              values: fc.oneof(
                fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 5 }),
                weird,
              ),
              times: weird,
            },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
        weird,
      ),
    },
    { requiredKeys: [] },
  ),
  fc.record({ name: weird, namespace: weird, scope: weird, issueToken: weird }, { requiredKeys: [] }),
  fc.record(
    {
      status: fc.oneof(fc.constantFrom('running', 'failed', 'done'), weird),
      progress: fc.oneof(
        fc.record(
          { step: weird, totalSteps: weird, etaSeconds: weird, metrics: weird },
          { requiredKeys: [] },
        ),
        weird,
      ),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      step: weird,
      epoch: weird,
      path: weird,
      sizeBytes: weird,
      sha256: fc.oneof(fc.constant('a'.repeat(64)), weird),
      metrics: weird,
    },
    { requiredKeys: [] },
  ),
  fc.record(
    { worker: weird, lines: fc.oneof(fc.array(fc.string(), { maxLength: 5 }), weird) },
    { requiredKeys: [] },
  ),
  fc.record({ metadata: weird, spec: weird }, { requiredKeys: [] }),
);

test('no generated request gets a 5xx', async () => {
  const ids = fc.oneof(
    fc.constantFrom(
      s.runId,
      other.runId,
      s.id,
      other.id,
      '00000000-0000-4000-8000-000000000000',
      'x',
      '%00',
      '..',
    ),
    fc.uuid(),
    fc.string({ minLength: 1, maxLength: 40 }).map(encodeURIComponent),
  );
  const path = fc.oneof(
    fc
      .tuple(
        fc.constantFrom('/api/v1/runs/', '/api/v1/projects/', '/api/v1/tokens/'),
        ids,
        fc.constantFrom(
          '',
          '/metrics',
          '/metrics/keys',
          '/metrics/series',
          '/checkpoints',
          '/logs',
          '/events',
          '/runs',
          '/tokens',
          '/metrics/compare',
          '/jobs',
          '/jobs/j1',
          '/jobs/j1/suspend',
        ),
      )
      .map((p) => p.join('')),
    fc.constantFrom('/api/v1/projects', '/healthz', '/readyz', '/metrics', '/api/docs/openapi.json'),
  );
  const query = fc.dictionary(
    fc.constantFrom(
      'key',
      'maxPoints',
      'fromStep',
      'toStep',
      'runIds',
      'limit',
      'offset',
      'sort',
      'status',
      'worker',
      'x',
    ),
    fc.oneof(fc.string(), fc.integer().map(String), fc.constant(s.runId)),
    { maxKeys: 4 },
  );
  const token = fc.constantFrom(
    s.writeToken,
    s.readToken,
    s.runToken,
    other.runToken,
    ADMIN,
    'garbage',
    null,
  );
  const method = fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT');
  let requests = 0;
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(method, path, query, bodies, token, fc.boolean(), async (m, p, q, body, tok, raw) => {
      const qs = new URLSearchParams(q as Record<string, string>).toString();
      const url = `${p}${qs ? `?${qs}` : ''}`;
      // Some bodies go as raw, possibly invalid, text.
      const payload =
        m === 'GET' || m === 'DELETE' ? undefined : raw ? String(JSON.stringify(body)).slice(0, -1) : body;
      const r = await api.call(tok, m, url, payload, raw ? { 'content-type': 'application/json' } : {});
      requests++;
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      assert.ok(
        r.status < 500 || (r.status === 503 && /cluster/.test(r.body?.message)),
        `${m} ${url} → ${r.status} ${JSON.stringify(r.body)} for ${JSON.stringify(payload)?.slice(0, 300)}`,
      );
    }),
    { numRuns: 1200, seed: Number(process.env.FUZZ_SEED ?? 42) },
  );
  assert.ok(requests >= 1000);
  // The generator reaches past authentication and validation, not only 401/404.
  assert.ok((statuses.get(200) ?? 0) + (statuses.get(201) ?? 0) > 20, JSON.stringify([...statuses]));
  assert.ok((statuses.get(400) ?? 0) > 100, JSON.stringify([...statuses]));
});

// GET /projects/:id/runs/search: the dashboard's runs table (filter by hyperparameter and latest-metric
// conditions, sort by any column, pages), bad input named by field, other projects invisible.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, seedProject, startApi, type TestApi } from './support/api.js';

let api: TestApi;
let a: Awaited<ReturnType<typeof seedProject>>;
let b: Awaited<ReturnType<typeof seedProject>>;
const search = (token: string, projectId: string, q: string) =>
  api.call(token, 'GET', `/api/v1/projects/${projectId}/runs/search?${q}`);
const names = (body: { items: { name: string }[] }) => body.items.map((r) => r.name);

before(async () => {
  api = await startApi('runsearch');
  a = await seedProject(api, `a${Date.now()}`);
  b = await seedProject(api, `b${Date.now()}`);
  for (let i = 0; i < 6; i++) {
    const r = await api.call(a.writeToken, 'POST', `/api/v1/projects/${a.id}/runs`, {
      name: `r${i}`,
      status: i % 2 ? 'failed' : 'succeeded',
      hyperparams: { lr: [0.1, 0.01, 0.001, 0.03, 0.3, 0.003][i], optimizer: i < 3 ? 'adam' : 'sgd' },
    });
    assert.equal(r.status, 201);
    const p = await api.call(a.writeToken, 'PATCH', `/api/v1/runs/${r.body.id}`, {
      progress: { step: 10 * i, metrics: { 'val/loss': 1 / (i + 1) } },
    });
    assert.equal(p.status, 200);
  }
  await api.call(b.writeToken, 'POST', `/api/v1/projects/${b.id}/runs`, {
    name: 'b-secret',
    hyperparams: { lr: 1 },
  });
});
after(() => api?.close());

describe('run search', () => {
  test('filters by numeric and string hyperparameters and by latest metrics', async () => {
    const r = await search(
      a.readToken,
      a.id,
      `where=${encodeURIComponent('hp.lr>=0.03;hp.optimizer=sgd')}&sort=name`,
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(names(r.body), ['r3', 'r4']);
    assert.equal(r.body.total, 2);
    const m = await search(a.readToken, a.id, `where=${encodeURIComponent('metric.val/loss<0.3')}&sort=name`);
    assert.deepEqual(names(m.body), ['r3', 'r4', 'r5']);
    const ne = await search(
      a.readToken,
      a.id,
      `where=${encodeURIComponent('hp.optimizer!=adam')}&status=failed&sort=name`,
    );
    assert.deepEqual(names(ne.body), ['r3', 'r5']);
  });

  test('sorts by a hyperparameter, a metric or step in either direction; pages with the total', async () => {
    const up = await search(a.readToken, a.id, 'where=hp.lr>0&sort=hp.lr');
    assert.deepEqual(names(up.body), ['r2', 'r5', 'r1', 'r3', 'r0', 'r4']);
    const down = await search(a.readToken, a.id, 'where=hp.lr>0&sort=-hp.lr&limit=2&offset=2');
    assert.deepEqual(names(down.body), ['r3', 'r1']);
    assert.equal(down.body.total, 6);
    const metric = await search(a.readToken, a.id, 'where=hp.lr>0&sort=-metric.val/loss&limit=1');
    assert.deepEqual(names(metric.body), ['r0']);
    const step = await search(a.readToken, a.id, 'where=hp.lr>0&sort=-step&limit=1');
    assert.deepEqual(names(step.body), ['r5']);
    const past = await search(a.readToken, a.id, 'where=hp.lr>0&offset=100');
    assert.deepEqual(past.body, { items: [], total: 6 });
  });

  test('bad input: each condition and the sort named, nothing else answered', async () => {
    const cases: [string, RegExp][] = [
      ['where=lr>1', /query\.where\[0\].*expected hp\.<name> or metric\.<name>/],
      ['where=hp.optimizer>adam', /query\.where\[0\].*> needs a number/],
      ['where=hp.lr>1;bogus', /query\.where\[1\]/],
      [`where=${Array.from({ length: 21 }, () => 'hp.a=1').join(';')}`, /at most 20 conditions/],
      ['sort=password', /query\.sort.*expected name, status/],
      ['limit=0', /query\.limit/],
      ['status=done', /query\.status/],
    ];
    for (const [q, re] of cases) {
      const r = await search(a.readToken, a.id, q);
      assert.equal(r.status, 400, `${q}: ${JSON.stringify(r.body)}`);
      assert.match(JSON.stringify(r.body), re, q);
    }
    const bad = await api.call(a.readToken, 'GET', '/api/v1/projects/not-a-uuid/runs/search');
    assert.equal(bad.status, 400);
  });

  test("another project's token sees 404; its runs never appear", async () => {
    const r = await search(b.readToken, a.id, '');
    assert.equal(r.status, 404);
    const all = await search(a.readToken, a.id, 'limit=500');
    assert.ok(!names(all.body).includes('b-secret'));
    const admin = await search(ADMIN, b.id, '');
    assert.deepEqual(names(admin.body).sort(), ['b-secret', 'run-1']);
  });
});

// Issue 14, item 2: metric ingest under contention. 200 requests at once on one run, mixing keys every
// request shares, keys first used by several requests at the same moment, and keys of one request, over
// overlapping step windows: no 5xx, and every point is stored exactly once (rollups count it once too).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { seedProject, startApi, type TestApi } from './support/api.js';

let api: TestApi;
let s: Awaited<ReturnType<typeof seedProject>>;

before(async () => {
  api = await startApi('concurrency');
  s = await seedProject(api, 'conc');
});
after(() => api.close());

test('200 concurrent batches with shared and new keys over overlapping windows: 0 5xx, each point once', async () => {
  const expected = new Map<string, Set<number>>();
  const bodies = Array.from({ length: 200 }, (_, i) => {
    const from = (i % 50) * 20; // windows of 40 steps, each overlapping the next
    const keys = [
      ...Array.from({ length: 8 }, (_, k) => `shared/${k}`),
      `burst/${i % 20}`, // first used by 10 requests at once
      `own/${i}`,
    ];
    // Keys in a different order per request, so lock order comes from the server, not the client.
    if (i % 2) keys.reverse();
    const series = keys.map((key) => {
      const steps = Array.from({ length: 40 }, (_, j) => from + j);
      if (i % 3 === 0) steps.reverse();
      for (const st of steps) {
        if (!expected.has(key)) expected.set(key, new Set());
        expected.get(key)!.add(st);
      }
      return { key, steps, values: steps.map((st) => st * 0.5) };
    });
    return i % 4 === 0
      ? {
          points: series.flatMap((x) =>
            x.steps.map((step, j) => ({ key: x.key, step, value: x.values[j]! })),
          ),
        }
      : { series };
  });
  const answers = await Promise.all(
    bodies.map(async (body) => {
      const r = await fetch(`${api.url}/api/v1/runs/${s.runId}/metrics`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.runToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: await r.text() };
    }),
  );
  const failed = answers.filter((a) => a.status !== 200);
  assert.deepEqual(failed, [], `non-200 answers: ${JSON.stringify(failed.slice(0, 5))}`);

  const client = new pg.Client({ connectionString: api.db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{
      key: string;
      points: number;
      distinct_steps: number;
      rolled: number;
    }>(
      `SELECT s.key, count(p.step)::int AS points, count(DISTINCT p.step)::int AS distinct_steps,
              (SELECT coalesce(sum(n), 0)::int FROM metric_rollups r WHERE r.series_id = s.id AND r.shift = 6) AS rolled
       FROM metric_series s LEFT JOIN metric_points p ON p.series_id = s.id
       WHERE s.run_id = $1 GROUP BY s.id, s.key`,
      [s.runId],
    );
    assert.equal(rows.length, expected.size, 'one series per key');
    const inserted = answers.reduce((n, a) => n + (JSON.parse(a.body) as { inserted: number }).inserted, 0);
    let stored = 0;
    for (const r of rows) {
      const want = expected.get(r.key)!.size;
      assert.equal(r.points, want, `${r.key}: points stored`);
      assert.equal(r.distinct_steps, want, `${r.key}: no step twice`);
      assert.equal(r.rolled, want, `${r.key}: rollups count each point once`);
      stored += r.points;
    }
    assert.equal(inserted, stored, "the answers' `inserted` add up to what is stored");
    console.log(`200 concurrent batches, ${answers.length} × 200 OK, ${stored} points stored once each`);
  } finally {
    await client.end();
  }
});

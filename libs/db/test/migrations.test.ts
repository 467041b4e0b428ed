import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { applyMigrations, createTestDatabase, diffSinceLastMigration } from '../src/index.js';

const db = await createTestDatabase('migrations');
after(() => db.drop());

test('migrations are recorded in _prisma_migrations and a second run applies nothing', async () => {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const { rows } = await c.query(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY 1',
    );
    assert.ok(rows.length >= 1);
    assert.match(rows[0].migration_name, /_init$/);
    assert.deepEqual(await applyMigrations(db.url), []);
    const tables = await c.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    for (const t of ['projects', 'api_tokens', 'runs', 'metric_series', 'metric_points', 'checkpoints']) {
      assert.ok(
        tables.rows.some((r) => r.tablename === t),
        `table ${t} exists`,
      );
    }
  } finally {
    await c.end();
  }
});

test('schema.prisma has no change that lacks a migration', async () => {
  const { sql, empty } = await diffSinceLastMigration(db.url);
  assert.ok(empty, `schema.prisma differs from the latest migration; run npm run db:diff -- <name>:\n${sql}`);
});

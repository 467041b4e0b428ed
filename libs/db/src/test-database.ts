// A fresh, migrated database per test file (or benchmark), so files running at once never collide.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { defaultDatabaseUrl } from './client.js';
import { applyMigrations } from './migrations.js';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(
  label: string,
  baseUrl = process.env.DATABASE_URL ?? defaultDatabaseUrl,
): Promise<TestDatabase> {
  const name =
    `kiln_t_${label.replace(/\W/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  await applyMigrations(url.toString());
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

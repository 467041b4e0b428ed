// `npm run db:diff -- <name>`: writes the next migration, prisma/migrations/<timestamp>_<name>/, holding
// migration.sql (prisma/schema.prisma against the schema snapshot of the latest migration) and the new
// snapshot. Review the SQL before committing it.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diffSinceLastMigration, migrationsDir, schemaPath } from '../src/migrations.js';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run db:diff -- <migration_name>   (name: lowercase letters, digits, _)');
  process.exit(2);
}
const url = process.env.DATABASE_URL ?? 'postgresql://kiln:kiln@127.0.0.1:5432/kiln';
const { sql, empty } = await diffSinceLastMigration(url);
if (empty) {
  console.log('schema.prisma matches the latest migration; nothing written');
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const dir = join(migrationsDir, `${stamp}_${name}`);
await mkdir(dir, { recursive: true });
await writeFile(join(dir, 'migration.sql'), sql);
await copyFile(schemaPath, join(dir, 'schema.prisma'));
console.log(`wrote ${dir}/migration.sql`);

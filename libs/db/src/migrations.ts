// Applies and creates Prisma migrations without the Prisma CLI's native schema engine (which the CLI
// downloads at run time): Prisma's own schema engine compiled to WebAssembly, talking to Postgres
// through the pg driver adapter. Records go to `_prisma_migrations`, the table `prisma migrate deploy`
// keeps, so either tool can take over a database.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const schemaPath = join(repoRoot, 'prisma/schema.prisma');
export const migrationsDir = join(repoRoot, 'prisma/migrations');
const noFilters = { externalTables: [], externalEnums: [] };

let wasmReady: Promise<void> | undefined;

/** Instantiates the engine's WebAssembly by hand, so Node 20 needs no --experimental-wasm-modules. */
function loadWasm(): Promise<void> {
  wasmReady ??= (async () => {
    const jsPath = fileURLToPath(import.meta.resolve('@prisma/schema-engine-wasm'));
    const bytes = await readFile(join(dirname(jsPath), 'schema_engine_bg.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bg });
    const exports = instance.exports as WebAssembly.Exports & { __wbindgen_start(): void };
    (bg as unknown as { __wbg_set_wasm(w: unknown): void }).__wbg_set_wasm(exports);
    exports.__wbindgen_start();
  })();
  return wasmReady;
}

/**
 * The pg adapter runs a migration script by splitting it on every `;` (even inside comments and function
 * bodies). Sending the script whole over the simple query protocol runs it as written, and Postgres
 * runs a multi-statement query in one implicit transaction, so a failed migration leaves nothing behind.
 */
class WholeScriptPg extends PrismaPg {
  override async connect() {
    const adapter = await super.connect();
    const client = adapter.underlyingDriver();
    const onError = (adapter as unknown as { onError(e: unknown): never }).onError.bind(adapter);
    adapter.executeScript = async (script: string) => {
      try {
        await client.query(script);
      } catch (error) {
        onError(error);
      }
    };
    return adapter;
  }
}

async function withEngine<T>(databaseUrl: string, fn: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  await loadWasm();
  const schema = await readFile(schemaPath, 'utf8');
  const factory = bindMigrationAwareSqlAdapterFactory(new WholeScriptPg({ connectionString: databaseUrl }));
  const engine = await bg.SchemaEngine.new({ datamodels: [[schemaPath, schema]] }, () => {}, factory);
  try {
    return await fn(engine);
  } finally {
    engine.free();
  }
}

async function listMigrations(): Promise<MigrationList> {
  const names = (await readdir(migrationsDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const lockPath = join(migrationsDir, 'migration_lock.toml');
  const lockContent = await readFile(lockPath, 'utf8').catch(() => null);
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: lockContent },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: {
            tag: 'ok' as const,
            value: await readFile(join(migrationsDir, name, 'migration.sql'), 'utf8'),
          },
        },
      })),
    ),
  };
}

/** Applies every migration in prisma/migrations not yet recorded in the database; returns their names. */
export async function applyMigrations(databaseUrl: string): Promise<string[]> {
  const migrationsList = await listMigrations();
  return withEngine(databaseUrl, async (engine) => {
    const out = await engine.applyMigrations({ migrationsList, filters: noFilters });
    return out.appliedMigrationNames;
  });
}

/**
 * The SQL of the next migration: prisma/schema.prisma against the snapshot of the schema kept beside the
 * latest migration (`schema.prisma` in its folder). Comparing datamodels rather than introspecting the
 * live database, because the pg adapter cannot read Postgres' `"char"` catalog columns that
 * introspection needs. Empty when nothing changed.
 */
export async function diffSinceLastMigration(databaseUrl: string): Promise<{ sql: string; empty: boolean }> {
  const { migrationDirectories } = await listMigrations();
  const last = migrationDirectories.at(-1);
  const previous = last ? await readFile(join(migrationsDir, last.path, 'schema.prisma'), 'utf8') : undefined;
  return withEngine(databaseUrl, async (engine) => {
    const schema = await readFile(schemaPath, 'utf8');
    const out = await engine.diff({
      from:
        previous === undefined
          ? { tag: 'empty' }
          : { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: previous }] },
      to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] },
      script: true,
      exitCode: true,
      filters: noFilters,
    });
    return { sql: out.stdout ?? '', empty: out.exitCode !== 2 };
  });
}

/** The SQL that creates the whole schema from nothing (the first migration). */
export async function diffSchemaFromEmpty(databaseUrl: string): Promise<string> {
  return withEngine(databaseUrl, async (engine) => {
    const schema = await readFile(schemaPath, 'utf8');
    const out = await engine.diff({
      from: { tag: 'empty' },
      to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    return out.stdout ?? '';
  });
}

// One place that opens the database: a pg Pool shared by Prisma (through its pg driver adapter) and by
// the raw paths that Prisma cannot express efficiently (COPY, the downsampling query).
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/client.js';

export const defaultDatabaseUrl = 'postgresql://kiln:kiln@127.0.0.1:5432/kiln';

// int8 columns (steps, sizes) as JS numbers: steps stay far below 2^53 and callers expect numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface Db {
  prisma: PrismaClient;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createDb(databaseUrl = process.env.DATABASE_URL ?? defaultDatabaseUrl, poolSize = 10): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  // An idle client losing its connection (Postgres restarted) must not crash the process.
  pool.on('error', () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

// The API's domain services on a fresh, migrated database, without HTTP: a Nest application context
// holding the same modules createApp serves.
import 'reflect-metadata';
import { createDb, createTestDatabase, type Db, type TestDatabase } from '@kiln/db';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { domainModules } from '../../src/app.js';
import { TokenStore } from '../../src/auth/tokens.js';
import type { ApiConfig } from '../../src/config.js';
import { CoreModule } from '../../src/core/core.module.js';
import type { JobBackend } from '../../src/jobs/backend.js';
import { LiveBus } from '../../src/live/bus.js';
import { Prometheus } from '../../src/prometheus/prometheus.js';
import { ADMIN } from './api.js';

export interface TestServices {
  ctx: INestApplicationContext;
  db: Db;
  bus: LiveBus;
  close(): Promise<void>;
}

export async function startServices(
  label: string,
  config: Partial<ApiConfig> = {},
  jobs: JobBackend | null = null,
): Promise<TestServices & { testDb: TestDatabase }> {
  const testDb = await createTestDatabase(label);
  const full: ApiConfig = {
    databaseUrl: testDb.url,
    adminToken: ADMIN,
    port: 0,
    host: '127.0.0.1',
    ingestPointsPerSecond: 10_000_000,
    maxBatchPoints: 100_000,
    logTailLines: 1000,
    kubeconfig: 'none',
    ...config,
  };
  const db = createDb(full.databaseUrl);
  // No LISTEN connection: updates reach this process's subscribers directly.
  const bus = new LiveBus();
  const core = CoreModule.forRoot({
    config: full,
    db,
    tokens: new TokenStore(db, full.adminToken),
    bus,
    prometheus: new Prometheus(),
    jobs,
  });
  @Module({ imports: [core, ...domainModules] })
  class ServicesModule {}
  const ctx = await NestFactory.createApplicationContext(ServicesModule, { logger: false });
  return {
    ctx,
    db,
    bus,
    testDb,
    async close() {
      await ctx.close();
      await bus.close();
      await db.close();
      await testDb.drop();
    },
  };
}

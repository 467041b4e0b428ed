// The parts every domain module shares, built once per app from its config and provided globally:
// config, database, token store, live bus, ingest rate limiter, Prometheus registry, the job backend,
// the series-id cache and run/project lookups.
import { type Db, SeriesCache } from '@kiln/db';
import { type DynamicModule, Module } from '@nestjs/common';
import { TokenStore } from '../auth/tokens.js';
import type { ApiConfig } from '../config.js';
import type { JobBackend } from '../jobs/backend.js';
import { LiveBus } from '../live/bus.js';
import { StreamAccess } from '../live/stream-access.js';
import { Prometheus } from '../prometheus/prometheus.js';
import { Lookup } from './lookup.js';
import { PointRateLimiter } from './rate-limit.js';
import { API_CONFIG, DB, JOB_BACKEND } from './tokens.js';

export interface CoreParts {
  config: ApiConfig;
  db: Db;
  tokens: TokenStore;
  bus: LiveBus;
  prometheus: Prometheus;
  jobs: JobBackend | null;
}

@Module({})
export class CoreModule {
  static forRoot(parts: CoreParts): DynamicModule {
    const providers = [
      { provide: API_CONFIG, useValue: parts.config },
      { provide: DB, useValue: parts.db },
      { provide: JOB_BACKEND, useValue: parts.jobs },
      { provide: TokenStore, useValue: parts.tokens },
      { provide: LiveBus, useValue: parts.bus },
      { provide: Prometheus, useValue: parts.prometheus },
      { provide: SeriesCache, useValue: new SeriesCache(parts.db.pool) },
      {
        provide: PointRateLimiter,
        useValue: new PointRateLimiter(parts.config.ingestPointsPerSecond),
      },
      Lookup,
      StreamAccess,
    ];
    return { module: CoreModule, global: true, providers, exports: providers };
  }
}

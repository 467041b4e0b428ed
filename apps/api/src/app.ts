// Builds the API: NestJS on Fastify (Fastify parses and serializes faster than Express, which matters
// for metric ingest), every route under /api/v1 except health, readiness and /metrics.
import { createGunzip } from 'node:zlib';
import { createDb } from '@kiln/db';
import { type INestApplication, Module, RequestMethod } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AuthGuard } from './auth/guard.js';
import { TokenStore } from './auth/tokens.js';
import { CheckpointsModule } from './checkpoints/checkpoints.module.js';
import type { ApiConfig } from './config.js';
import { CoreModule } from './core/core.module.js';
import { HealthModule } from './health/health.module.js';
import { ErrorFilter } from './http/errors.js';
import { finishDocument } from './http/openapi-document.js';
import { type JobBackend, KubeJobBackend } from './jobs/backend.js';
import { JobsModule } from './jobs/jobs.module.js';
import { JobStatusSync } from './jobs/sync.js';
import { LiveBus } from './live/bus.js';
import { LoggedValuesModule } from './logged-values/logged-values.module.js';
import { LogsModule } from './logs/logs.module.js';
import { ProjectsModule } from './projects/projects.module.js';
import { Prometheus } from './prometheus/prometheus.js';
import { RunSearchModule } from './run-search/run-search.module.js';
import { RunsModule } from './runs/runs.module.js';
import { SweepsModule } from './sweeps/sweeps.module.js';

/** The domain modules, in the order their routes are registered. A new module goes here. */
export const domainModules = [
  HealthModule,
  ProjectsModule,
  RunsModule,
  RunSearchModule,
  LoggedValuesModule,
  CheckpointsModule,
  LogsModule,
  JobsModule,
  SweepsModule,
];

/** Bodies are read as UTF-8; one declared in another charset is refused rather than misread. */
function refuseCharset(contentType: string | undefined): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  if (charset && !/^utf-?8$/i.test(charset))
    throw Object.assign(new Error(`unsupported charset ${charset}: send UTF-8 (charset=utf-8 or none)`), {
      statusCode: 415,
    });
}

export interface App {
  app: NestFastifyApplication;
  config: ApiConfig;
  /** Base URL once listening, e.g. http://127.0.0.1:43123 */
  url: string;
  close(): Promise<void>;
}

export async function createApp(
  config: ApiConfig,
  opts: { jobs?: JobBackend | null; logger?: boolean } = {},
): Promise<App> {
  const db = createDb(config.databaseUrl);
  const bus = new LiveBus(db.pool, config.databaseUrl);
  await bus.start();
  const prometheus = new Prometheus();
  const jobs = opts.jobs === undefined ? KubeJobBackend.fromConfig(config.kubeconfig) : opts.jobs;
  const core = CoreModule.forRoot({
    config,
    db,
    tokens: new TokenStore(db, config.adminToken),
    bus,
    prometheus,
    jobs,
  });

  @Module({
    imports: [core, ...domainModules],
    providers: [
      { provide: APP_GUARD, useClass: AuthGuard },
      { provide: APP_FILTER, useClass: ErrorFilter },
    ],
  })
  class ApiModule {}

  // Metric batches are large: 64 MiB of JSON holds ~1M points; the per-request point cap answers first.
  const adapter = new FastifyAdapter({ bodyLimit: 64 * 1024 * 1024 });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule, adapter, {
    logger: opts.logger === false ? false : ['error', 'warn', 'log'],
  });
  const fastify = app.getHttpAdapter().getInstance();
  // The PlatformLogger sends gzip bodies; Fastify leaves request decompression to the app.
  fastify.addHook('preParsing', async (req, _reply, payload) => {
    refuseCharset(req.headers['content-type']);
    const enc = req.headers['content-encoding'];
    if (!enc || enc === 'identity') return payload;
    if (enc !== 'gzip')
      throw Object.assign(new Error(`unsupported Content-Encoding ${enc} (use gzip)`), { statusCode: 415 });
    delete req.headers['content-length'];
    return payload.pipe(createGunzip());
  });
  fastify.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions?.url ?? 'unmatched';
    prometheus.requests.observe(
      { method: req.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.setGlobalPrefix('api/v1', {
    exclude: [
      { path: 'healthz', method: RequestMethod.GET },
      { path: 'readyz', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
  const doc = SwaggerModule.createDocument(
    app as unknown as INestApplication,
    new DocumentBuilder()
      .setTitle('Kiln API')
      .setDescription('Runs, metrics, checkpoints, logs and TrainingJobs')
      .setVersion('v1')
      .build(),
  );
  finishDocument(doc);
  SwaggerModule.setup('api/docs', app as unknown as INestApplication, doc, {
    jsonDocumentUrl: 'api/docs/openapi.json',
  });

  const sync = jobs ? new JobStatusSync(jobs, db, bus) : null;
  await app.listen(config.port, config.host);
  void sync?.start();
  const addr = fastify.server.address();
  const url =
    typeof addr === 'object' && addr
      ? `http://${config.host}:${addr.port}`
      : `http://${config.host}:${config.port}`;
  return {
    app,
    config,
    url,
    async close() {
      sync?.close();
      await bus.close();
      await app.close();
      await db.close();
    },
  };
}

// The domain services called directly, without HTTP: what the controllers delegate to.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { firstValueFrom, take, toArray } from 'rxjs';
import { CheckpointsService } from '../src/checkpoints/checkpoints.service.js';
import { JobsService } from '../src/jobs/jobs.service.js';
import { IngestService } from '../src/logged-values/ingest.service.js';
import { SeriesService } from '../src/logged-values/series.service.js';
import { LogsService } from '../src/logs/logs.service.js';
import { ProjectsService } from '../src/projects/projects.service.js';
import { RunsService } from '../src/runs/runs.service.js';
import { startServices, type TestServices } from './support/services.js';

let s: TestServices;
let projectId: string;
let runId: string;

before(async () => {
  s = await startServices('services', { logTailLines: 3 });
  const p = await s.ctx.get(ProjectsService).create({ name: 'svc', namespace: 'svc' });
  projectId = p.id;
  runId = (await s.ctx.get(RunsService).create(projectId, { name: 'r1' })).id;
});
after(() => s.close());

test('projects: tokens issued, listed and revoked; another project cannot revoke them', async () => {
  const projects = s.ctx.get(ProjectsService);
  const t = await projects.issueToken({ kind: 'admin' }, projectId, { name: 'w', scope: 'write' });
  assert.match(t.token, /^kiln_p_/);
  assert.deepEqual(
    (await projects.listTokens(projectId)).map((x) => x.name),
    ['w'],
  );
  const other = await projects.create({ name: 'svc-other', namespace: 'svc-other' });
  await assert.rejects(
    projects.revokeToken(
      { kind: 'project', tokenId: 'x', projectId: other.id, scope: 'write', expiresAt: null },
      t.id,
    ),
    /not found/,
  );
  await projects.revokeToken({ kind: 'admin' }, t.id);
  assert.ok((await projects.listTokens(projectId))[0]!.revokedAt);
});

test('runs: create with a run token, update status and progress, events recorded and published', async () => {
  const runs = s.ctx.get(RunsService);
  const r = await runs.create(projectId, { name: 'r2', issueToken: true, hyperparams: { lr: 0.1 } });
  assert.ok('token' in r && /^kiln_r_/.test(r.token));
  const published = firstValueFrom(runs.stream(r.id).pipe(take(2), toArray()));
  const run = await s.db.prisma.run.findUniqueOrThrow({ where: { id: r.id } });
  const u = await runs.update(run, { status: 'running', progress: { step: 5, totalSteps: 10 } });
  assert.equal(u.status, 'running');
  assert.equal(u.progress.percent, 50);
  assert.ok(u.startedAt);
  assert.deepEqual(
    (await published).map((e) => e.type),
    ['status', 'progress'],
  );
  assert.deepEqual(
    (await runs.events(r.id)).map((e) => e.type),
    ['created', 'status'],
  );
  const listed = await runs.list(projectId, { status: 'running' });
  assert.deepEqual(
    listed.items.map((x) => x.name),
    ['r2'],
  );
});

test('ingest and series: idempotent on (run, key, step); keys and a downsampled read', async () => {
  const ingest = s.ctx.get(IngestService);
  const ref = { id: runId, projectId };
  const body = { series: [{ key: 'loss', steps: [0, 1, 2, 3], values: [4, 3, 2, 1] }] };
  assert.deepEqual(await ingest.ingest(ref, body), { accepted: 4, inserted: 4 });
  assert.deepEqual(await ingest.ingest(ref, body), { accepted: 4, inserted: 0 });
  const reads = s.ctx.get(SeriesService);
  assert.deepEqual(await reads.keys(runId), [{ key: 'loss', count: 4, lastStep: 3 }]);
  const got = await reads.series(runId, { key: 'loss' });
  assert.deepEqual(
    got.points.map((p) => p.value),
    [4, 3, 2, 1],
  );
  assert.equal((await reads.series(runId, { key: 'none' })).total, 0);
});

test('checkpoints: one best per run; logs: tail bounded per worker', async () => {
  const c = s.ctx.get(CheckpointsService);
  const ck = { step: 1, epoch: 0, path: '/a', sizeBytes: 1, sha256: 'a'.repeat(64), isBest: true };
  const a = await c.register(runId, ck);
  const b = await c.register(runId, { ...ck, step: 2, path: '/b' });
  assert.deepEqual(
    (await c.list(runId)).map((x) => x.isBest),
    [false, true],
  );
  await c.markBest(runId, a.id);
  assert.deepEqual(
    (await c.list(runId)).map((x) => [x.id, x.isBest]),
    [
      [a.id, true],
      [b.id, false],
    ],
  );
  const logs = s.ctx.get(LogsService);
  await logs.append(runId, { worker: 'w0', lines: ['1', '2', '3', '4', '5'] });
  assert.deepEqual(
    (await logs.tail(runId, {})).map((l) => l.line),
    ['3', '4', '5'],
  );
});

test('jobs without a cluster: 503 saying so, after the spec is checked', async () => {
  const jobs = s.ctx.get(JobsService);
  const project = await s.db.prisma.project.findUniqueOrThrow({ where: { id: projectId } });
  await assert.rejects(jobs.list(project.namespace, {}), /no Kubernetes cluster is configured/);
  await assert.rejects(
    jobs.submit(project, { metadata: { name: 'j' }, spec: { image: 'x', command: ['kiln'], workers: 0 } }),
    /body\.spec\.workers/,
  );
});

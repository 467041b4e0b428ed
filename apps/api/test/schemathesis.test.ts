// Issue 14, item 8: the live OpenAPI document is a contract an outside client can trust. Schemathesis
// generates requests from the document for every operation, as the admin, a project write token, a read
// token and a run token, and checks every answer (test/support/schemathesis.ts). The job endpoints need a
// cluster (without one they answer 503 by design): schemathesis-jobs.test.ts fuzzes them on the local
// control plane. The event streams never end; hardening.test.ts covers them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SWEEP_QUEUE } from '@kiln/spec';
import { Queue } from 'bullmq';
import { ADMIN, seedProject, startApi, type TestApi } from './support/api.js';
import { fuzz, fuzzSummary, schemathesisBin } from './support/schemathesis.js';

type Seed = Awaited<ReturnType<typeof seedProject>> & { sweepId: string };
let api: TestApi;
let bin: string;
// One project per caller: a run may create, change and revoke what it finds (Schemathesis reads token
// ids from list answers), so no run disturbs another's token.
const seeds: Record<string, Seed> = {};
const dir = mkdtempSync(join(tmpdir(), 'kiln-schemathesis-'));

// The sweep queue under a prefix of its own: no sweep worker of another test picks these sweeps up.
const prefix = `kiln-st-${process.pid}`;

before(async () => {
  process.env.KILN_REDIS_PREFIX = prefix;
  bin = schemathesisBin();
  api = await startApi('schemathesis');
  for (const name of ['admin', 'write', 'read', 'run']) {
    const seed = await seedProject(api, `st-${name}`);
    // A sweep that exists, so requests naming one get past 404 to the handlers.
    const sweep = await api.call(ADMIN, 'POST', `/api/v1/projects/${seed.id}/sweeps`, {
      metadata: { name: 'st' },
      spec: {
        objective: { metric: 'val/loss', goal: 'minimize' },
        algorithm: { type: 'random', seed: 1 },
        parameters: { lr: { type: 'loguniform', min: 1e-4, max: 1e-1 } },
        maxTrials: 4,
        parallelism: 2,
        trialTemplate: { image: 'kiln-trainer', command: ['kiln', 'fit', 'examples/digits/train.ts'] },
      },
    });
    assert.equal(sweep.status, 201, JSON.stringify(sweep.body));
    seeds[name] = { ...seed, sweepId: sweep.body.id };
  }
});
after(async () => {
  const queue = new Queue(SWEEP_QUEUE, {
    connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    prefix,
  });
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

// Revoking a token is fuzzed by the admin only (last): a project token revoking itself half-way would
// turn the rest of its run into 401s. The read and run tokens are refused most operations with 403
// before their input is read, so walking every schema's edges (the coverage phase) again for them
// would spend minutes on 403s: they get the examples and the random cases.
const keepTokens = ['--exclude-operation-id', 'ProjectsController_revoke'];
const all = 'examples,coverage,fuzzing';
const noCoverage = 'examples,fuzzing';
for (const [name, project, token, phases, extra] of [
  ['project write token', 'write', (x: Seed) => x.writeToken, all, keepTokens],
  ['project read token', 'read', (x: Seed) => x.readToken, noCoverage, keepTokens],
  ['run token', 'run', (x: Seed) => x.runToken, noCoverage, keepTokens],
  ['admin', 'admin', () => ADMIN, all, []],
] as const)
  test(`Schemathesis as the ${name}: no server errors, no undocumented status codes or bodies`, async () => {
    const seed = seeds[project]!;
    const r = await fuzz(bin, {
      url: api.url,
      token: token(seed),
      dir,
      name: name.replaceAll(' ', '-'),
      pathParams: { runId: seed.runId, projectId: seed.id, sweepId: seed.sweepId },
      phases,
      extra: ['--exclude-path-regex', '(/jobs|/stream)', ...extra],
    });
    console.log(`${name}: ${fuzzSummary(r.output)}`);
    // 403s are expected (a read token writing, a run token on project routes); a 401 would mean the
    // run's own token was revoked under it.
    assert.doesNotMatch(r.output, /401 Unauthorized \(/, 'the token stayed valid through its run');
    assert.equal(r.code, 0, r.output.slice(-6000));
  });

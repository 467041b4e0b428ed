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
import { ADMIN, seedProject, startApi, type TestApi } from './support/api.js';
import { fuzz, fuzzSummary, schemathesisBin } from './support/schemathesis.js';

type Seed = Awaited<ReturnType<typeof seedProject>>;
let api: TestApi;
let bin: string;
// One project per caller: a run may create, change and revoke what it finds (Schemathesis reads token
// ids from list answers), so no run disturbs another's token.
const seeds: Record<string, Seed> = {};
const dir = mkdtempSync(join(tmpdir(), 'kiln-schemathesis-'));

before(async () => {
  bin = schemathesisBin();
  api = await startApi('schemathesis');
  for (const name of ['admin', 'write', 'read', 'run']) seeds[name] = await seedProject(api, `st-${name}`);
});
after(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

// Revoking a token is fuzzed by the admin only (last): a project token revoking itself half-way would
// turn the rest of its run into 401s.
const keepTokens = ['--exclude-operation-id', 'ProjectsController_revoke'];
for (const [name, project, token, extra] of [
  ['project write token', 'write', (x: Seed) => x.writeToken, keepTokens],
  ['project read token', 'read', (x: Seed) => x.readToken, keepTokens],
  ['run token', 'run', (x: Seed) => x.runToken, keepTokens],
  ['admin', 'admin', () => ADMIN, []],
] as const)
  test(`Schemathesis as the ${name}: no server errors, no undocumented status codes or bodies`, async () => {
    const seed = seeds[project]!;
    const r = await fuzz(bin, {
      url: api.url,
      token: token(seed),
      dir,
      name: name.replaceAll(' ', '-'),
      pathParams: { runId: seed.runId, projectId: seed.id },
      extra: ['--exclude-path-regex', '(/jobs|/stream)', ...extra],
    });
    console.log(`${name}: ${fuzzSummary(r.output)}`);
    // 403s are expected (a read token writing, a run token on project routes); a 401 would mean the
    // run's own token was revoked under it.
    assert.doesNotMatch(r.output, /401 Unauthorized \(/, 'the token stayed valid through its run');
    assert.equal(r.code, 0, r.output.slice(-6000));
  });

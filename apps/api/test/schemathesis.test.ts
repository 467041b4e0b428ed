// Issue 14, item 8: the live OpenAPI document is a contract an outside client can trust. Schemathesis
// (PyPI, pinned in test/schemathesis/setup.sh, cached under $KILN_CACHE) generates requests from the
// document for every operation, as the admin, a project write token, a read token and a run token, and
// checks every answer: no 5xx, every status code documented, every body and content type as documented.
// Left out: the job endpoints (without a cluster they answer 503 by design; jobs.test.ts covers them on
// the local control plane) and the two event streams (they never end; hardening.test.ts covers them).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ADMIN, seedProject, startApi, type TestApi } from './support/api.js';

type Seed = Awaited<ReturnType<typeof seedProject>>;
let api: TestApi;
let st: string;
// One project per caller: a run may create, change and revoke what it finds (Schemathesis reads token
// ids from list answers), so no run disturbs another's token.
const seeds: Record<string, Seed> = {};
const dir = mkdtempSync(join(tmpdir(), 'kiln-schemathesis-'));

before(async () => {
  st = execFileSync('bash', ['apps/api/test/schemathesis/setup.sh'], { encoding: 'utf8' }).trim();
  api = await startApi('schemathesis');
  for (const name of ['admin', 'write', 'read', 'run']) seeds[name] = await seedProject(api, `st-${name}`);
});
after(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs Schemathesis with one token on one project; resolves with its exit code and output. */
function fuzz(
  name: string,
  token: string,
  s: Seed,
  extra: string[],
): Promise<{ code: number | null; output: string }> {
  const config = join(dir, `${name}.toml`);
  // Path ids of objects that exist, so requests get past 404 to the handlers.
  writeFileSync(config, `[parameters]\n"path.runId" = "${s.runId}"\n"path.projectId" = "${s.id}"\n`);
  const args = [
    '--config-file',
    config,
    'run',
    `${api.url}/api/docs/openapi.json`,
    '--header',
    `Authorization: Bearer ${token}`,
    '--checks',
    'not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance',
    '--exclude-path-regex',
    '(/jobs|/stream)',
    '--phases',
    'examples,coverage,fuzzing',
    '--max-examples',
    '8',
    '--max-time',
    '45',
    '--workers',
    '2',
    '--seed',
    '14',
    '--generation-database',
    'none',
    '--request-timeout',
    '30',
    '--no-color',
    ...extra,
  ];
  return new Promise((resolve) => {
    const child = spawn(st, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ code, output }));
  });
}

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
    const r = await fuzz(name.replaceAll(' ', '-'), token(seed), seed, [...extra]);
    const summary = r.output.split('\n').filter((l) => /generated|passed|failed|Failures|ST\d{3}|⚠️/.test(l));
    console.log(`${name}: ${summary.slice(-6).join(' | ')}`);
    // 403s are expected (a read token writing, a run token on project routes); a 401 would mean the
    // run's own token was revoked under it.
    assert.doesNotMatch(r.output, /401 Unauthorized \(/, 'the token stayed valid through its run');
    assert.equal(r.code, 0, r.output.slice(-6000));
  });

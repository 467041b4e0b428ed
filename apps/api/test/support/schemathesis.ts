// Runs Schemathesis (PyPI, pinned in test/schemathesis/setup.sh, cached under $KILN_CACHE) against a
// live API's OpenAPI document with one bearer token, checking every answer: no 5xx, every status code
// documented, every body and content type as documented.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The Schemathesis executable, installed (or found in the cache) by its setup script. */
export const schemathesisBin = () =>
  execFileSync('bash', ['apps/api/test/schemathesis/setup.sh'], { encoding: 'utf8' }).trim();

export interface FuzzRun {
  /** the API's base URL */
  url: string;
  token: string;
  /** a folder for the run's config file; the run's working directory */
  dir: string;
  name: string;
  /** values for path parameters (`runId`, `projectId`, `name`, …), so requests reach the handlers */
  pathParams: Record<string, string>;
  /** Schemathesis phases (default all three; coverage, the long one, walks every schema's edges) */
  phases?: string;
  /** further CLI arguments (operation filters) */
  extra?: string[];
}

/** Resolves with Schemathesis's exit code and its whole output. */
export function fuzz(bin: string, r: FuzzRun): Promise<{ code: number | null; output: string }> {
  const config = join(r.dir, `${r.name}.toml`);
  const params = Object.entries(r.pathParams).map(([k, v]) => `"path.${k}" = "${v}"`);
  writeFileSync(config, `[parameters]\n${params.join('\n')}\n`);
  const args = [
    '--config-file',
    config,
    'run',
    `${r.url}/api/docs/openapi.json`,
    '--header',
    `Authorization: Bearer ${r.token}`,
    '--checks',
    'not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance',
    '--phases',
    r.phases ?? 'examples,coverage,fuzzing',
    '--max-examples',
    '8',
    // One worker: Hypothesis, which draws the cases, is not thread-safe; with two, a draw crashed
    // Schemathesis itself on a loaded machine. No time limit, so every operation is covered.
    '--workers',
    '1',
    '--seed',
    '14',
    '--generation-database',
    'none',
    '--request-timeout',
    '30',
    '--no-color',
    ...(r.extra ?? []),
  ];
  return new Promise((resolve) => {
    // Asynchronous: the API under test usually runs in this very process.
    const child = spawn(bin, args, { cwd: r.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** The lines of a run's output worth printing beside the test (counts and failure kinds). */
export const fuzzSummary = (output: string) =>
  output
    .split('\n')
    .filter((l) => /generated|passed|failed|Failures|ST\d{3}|⚠️/.test(l))
    .slice(-6)
    .join(' | ');

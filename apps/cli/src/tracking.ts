// `kiln fit --track [url]`: records the run in the Kiln API the way a worker pod does, by handing the
// Trainer's platform logger its environment (KILN_TRACKING_URL, KILN_TRACKING_TOKEN, KILN_PROJECT,
// KILN_RUN_NAME). The flags are checked against the API before training starts, so a wrong URL, token or
// project fails at once, naming the flag, rather than after an epoch.
import { basename, extname } from 'node:path';
import { ENV } from '@kiln/spec';
import { type Command, Option } from 'commander';
import { UsageError } from './errors.js';

export interface TrackingFlags {
  /** true: `--track` with no URL (KILN_TRACKING_URL then) */
  track?: string | true;
  project?: string;
  token?: string;
  runName?: string;
}

export function addTrackingFlags(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--track [url]',
        'record the run in the Kiln API at url (default $KILN_TRACKING_URL): metrics, checkpoints, progress',
      ),
    )
    .option(
      '--project <id-or-name>',
      'project to record the run in (default $KILN_PROJECT, else the token’s one)',
    )
    .option('--token <token>', 'API token that may write to the project (default $KILN_TRACKING_TOKEN)')
    .option('--run-name <name>', 'name of the recorded run (default <script>-<date>)');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The environment the Trainer needs to record the run, or null without --track. Throws UsageError
 * naming the flag for anything wrong: a malformed URL, no token, an unknown project, an API that is
 * unreachable or refuses the token.
 */
export async function resolveTracking(
  flags: TrackingFlags,
  script: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Record<string, string> | null> {
  if (flags.track === undefined) {
    for (const [name, v] of [
      ['--project', flags.project],
      ['--token', flags.token],
      ['--run-name', flags.runName],
    ] as const) {
      if (v !== undefined) throw new UsageError(`${name} is for --track: add --track [url]`);
    }
    return null;
  }
  const url = trackingUrl(flags.track, env);
  const token = flags.token ?? env[ENV.trackingToken];
  if (token === undefined || token.trim() === '') {
    throw new UsageError(
      `--token: recording a run needs an API token that may write to the project; pass --token <token> or set ${ENV.trackingToken}`,
    );
  }
  const runName = flags.runName ?? defaultRunName(script);
  if (runName.trim() === '' || runName.length > 200) {
    throw new UsageError(`--run-name: expected 1 to 200 characters, got ${JSON.stringify(runName)}`);
  }
  const project = await resolveProject(url, token, flags.project ?? (env[ENV.project] || undefined));
  return {
    [ENV.trackingUrl]: url,
    [ENV.trackingToken]: token,
    [ENV.project]: project,
    [ENV.runName]: runName,
  };
}

function trackingUrl(track: string | true, env: Readonly<Record<string, string | undefined>>): string {
  const raw = track === true ? env[ENV.trackingUrl] : track;
  if (raw === undefined || raw === '') {
    throw new UsageError(`--track: no URL given and ${ENV.trackingUrl} is not set; use --track <url>`);
  }
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(
      `--track: expected the API's http(s) URL (e.g. http://127.0.0.1:8080), got "${raw}"`,
    );
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UsageError(`--track: expected an http or https URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

function defaultRunName(script: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${basename(script, extname(script))}-${stamp}`;
}

/** The project's id: given as an id, looked up by name, or the only one the token can see. */
async function resolveProject(url: string, token: string, project: string | undefined): Promise<string> {
  // also checks that the API answers and takes the token, before any training
  const visible = await apiGet<{ id: string; name: string }[]>(url, token, '/api/v1/projects');
  const names = visible.map((p) => p.name).join(', ') || 'none';
  if (project === undefined) {
    if (visible.length === 1) return visible[0]!.id;
    throw new UsageError(
      `--project: the token can see ${visible.length} projects (${names}); name one with --project <id-or-name>`,
    );
  }
  const found = visible.find((p) => p.id === project || p.name === project);
  if (found) return found.id;
  throw new UsageError(
    UUID.test(project)
      ? `--project: no project with id ${project} that this token may use (it sees: ${names})`
      : `--project: no project named "${project}" that this token may use (it sees: ${names})`,
  );
}

async function apiGet<T>(url: string, token: string, path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url + path, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new UsageError(
      `--track: cannot reach the Kiln API at ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
    );
  }
  if (res.status === 401 || res.status === 403) {
    throw new UsageError(
      `--token: the Kiln API at ${url} refused it (${res.status}: ${(await res.text()).slice(0, 200)})`,
    );
  }
  if (!res.ok) {
    throw new UsageError(
      `--track: GET ${path} at ${url} answered ${res.status}; is this the Kiln API? ${(await res.text()).slice(0, 200)}`,
    );
  }
  const body = await res.json().catch(() => undefined);
  if (!Array.isArray(body)) {
    throw new UsageError(
      `--track: GET ${path} at ${url} did not answer a list of projects; is this the Kiln API?`,
    );
  }
  return body as T;
}

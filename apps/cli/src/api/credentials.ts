// Where `kiln login` keeps the API address, token and project: `$XDG_CONFIG_HOME/kiln/config.json`
// (else ~/.config/kiln/config.json), readable by the user only. Flags override the environment
// (KILN_API_URL, KILN_TOKEN, KILN_PROJECT), which overrides the file, so CI jobs need no file.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';

export interface Login {
  /** The API's base URL, e.g. http://127.0.0.1:4000 (no trailing slash, no /api/v1). */
  url: string;
  token: string;
  project: { id: string; name: string };
  /** The dashboard's base URL, when known: `kiln submit` prints the run's page there. */
  dashboardUrl?: string;
}

export interface ConnectionFlags {
  api?: string;
  token?: string;
  project?: string;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'kiln', 'config.json');
}

export function readLogin(env: NodeJS.ProcessEnv = process.env): Login | undefined {
  const path = configPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path}: not valid JSON (${(err as Error).message}); run kiln login again`);
  }
  const d = doc as Partial<Login>;
  if (
    typeof d?.url !== 'string' ||
    typeof d.token !== 'string' ||
    typeof d.project?.id !== 'string' ||
    typeof d.project?.name !== 'string'
  )
    throw new UsageError(`${path}: expected {url, token, project: {id, name}}; run kiln login again`);
  return d as Login;
}

/** Written to a temporary file and renamed, so a crash never leaves half a config. */
export function writeLogin(login: Login, env: NodeJS.ProcessEnv = process.env): string {
  const path = configPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return path;
}

/** `--api <url>`: an http(s) URL, returned without trailing slashes. */
export function parseApiUrl(raw: string, flag = '--api'): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(
      `${flag}: expected the API's http(s) URL (e.g. http://127.0.0.1:4000), got "${raw}"`,
    );
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new UsageError(`${flag}: expected an http or https URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

/** The connection a command uses: flags, then the environment, then `kiln login`'s file. */
export function resolveConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
): { url: string; token: string; project?: string; dashboardUrl?: string } {
  const saved = readLogin(env);
  const rawUrl = flags.api ?? env.KILN_API_URL ?? saved?.url;
  const token = flags.token ?? env.KILN_TOKEN ?? saved?.token;
  if (!rawUrl || !token)
    throw new UsageError(
      'not logged in: run `kiln login <api-url> --token <token>`, or pass --api and --token (or set KILN_API_URL and KILN_TOKEN)',
    );
  const url = parseApiUrl(rawUrl, flags.api ? '--api' : env.KILN_API_URL ? 'KILN_API_URL' : configPath(env));
  const project = flags.project ?? (env.KILN_PROJECT || undefined) ?? saved?.project.id;
  const dashboardUrl = env.KILN_DASHBOARD_URL || saved?.dashboardUrl;
  return { url, token, project, ...(dashboardUrl && { dashboardUrl }) };
}

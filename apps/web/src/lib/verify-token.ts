// Decides whether a token may sign in to the dashboard: only project tokens (read or write). The admin
// token is refused (it must never sit in a browser), and so are run tokens (they see a single run).
import { apiUrl } from './config';
import { rawFetch } from './raw-fetch';
import type { Project } from './types';

export type TokenCheck = { ok: true; project: Project } | { ok: false; status: number; message: string };

export async function verifyProjectToken(token: string): Promise<TokenCheck> {
  if (!/^\S{8,512}$/.test(token))
    return {
      ok: false,
      status: 400,
      message: 'token: expected a project token (8 to 512 characters, no spaces)',
    };
  const auth = { authorization: `Bearer ${token}` };
  const projects = await rawFetch(`${apiUrl()}/api/v1/projects`, { headers: auth, cache: 'no-store' });
  if (projects.status === 401)
    return { ok: false, status: 401, message: 'token: unknown, expired or revoked' };
  if (!projects.ok) return { ok: false, status: 502, message: `the API answered ${projects.status}` };
  // Only the admin token may read the Prometheus endpoint: a cheap, side-effect-free way to recognise it.
  const prom = await rawFetch(`${apiUrl()}/metrics`, { headers: auth, cache: 'no-store' });
  // Read, not cancelled: Next's fetch tees bodies, and cancelling one branch waits on the other.
  await prom.arrayBuffer();
  if (prom.ok)
    return { ok: false, status: 403, message: 'token: the admin token cannot sign in; use a project token' };
  const list = (await projects.json()) as Project[];
  const project = list[0];
  if (!project || list.length !== 1) return { ok: false, status: 403, message: 'token: not a project token' };
  const runs = await rawFetch(`${apiUrl()}/api/v1/projects/${project.id}/runs?limit=1`, {
    headers: auth,
    cache: 'no-store',
  });
  await runs.arrayBuffer();
  if (runs.status === 403)
    return { ok: false, status: 403, message: "token: a run's token cannot sign in; use a project token" };
  if (!runs.ok) return { ok: false, status: 502, message: `the API answered ${runs.status}` };
  return { ok: true, project };
}

// Server-side calls to the Kiln API with the signed-in project token. Never imported by client code.
import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { cache } from 'react';
import { apiUrl, SESSION_COOKIE } from './config';
import { rawFetch } from './raw-fetch';
import type { Project } from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export async function apiFetch<T>(token: string, path: string, init: RequestInit = {}): Promise<T> {
  const res = await rawFetch(`${apiUrl()}/api/v1${path}`, {
    ...init,
    cache: 'no-store',
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  if (!res.ok) {
    const msg = (body as { message?: unknown })?.message;
    throw new ApiError(res.status, typeof msg === 'string' ? msg : `API answered ${res.status}`, body);
  }
  return body as T;
}

export async function sessionToken(): Promise<string | null> {
  return (await cookies()).get(SESSION_COOKIE)?.value ?? null;
}

/** The signed-in token and its project; without a valid session, redirects to the sign-in page. */
export const session = cache(async (): Promise<{ token: string; project: Project }> => {
  const token = await sessionToken();
  if (!token) redirect('/signin');
  let projects: Project[];
  try {
    projects = await apiFetch<Project[]>(token, '/projects');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) redirect('/signin?expired=1');
    throw e;
  }
  const project = projects[0];
  if (!project || projects.length !== 1) redirect('/signin?expired=1');
  return { token, project };
});

/** A GET for a server component, with the session's token. */
export async function get<T>(path: string): Promise<T> {
  const { token } = await session();
  return apiFetch<T>(token, path);
}

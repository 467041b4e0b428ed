// Starts the real API on a fresh, migrated Postgres database and an ephemeral port.
import { createTestDatabase, type TestDatabase } from '@kiln/db';
import { type App, createApp } from '../../src/app.js';
import type { ApiConfig } from '../../src/config.js';
import type { JobBackend } from '../../src/jobs/backend.js';

export const ADMIN = 'test-admin-token-0123456789abcdef';

export interface TestApi {
  url: string;
  app: App;
  db: TestDatabase;
  /** fetch with a bearer token; JSON bodies encoded; returns status and parsed body. */
  call(
    token: string | null,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers.
  ): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startApi(
  label: string,
  config: Partial<ApiConfig> = {},
  jobs: JobBackend | null = null,
  baseUrl?: string,
): Promise<TestApi> {
  const db = await createTestDatabase(label, baseUrl);
  const app = await createApp(
    {
      databaseUrl: db.url,
      adminToken: ADMIN,
      port: 0,
      host: '127.0.0.1',
      ingestPointsPerSecond: 10_000_000,
      maxBatchPoints: 100_000,
      logTailLines: 1000,
      kubeconfig: 'none',
      ...config,
    },
    { jobs, logger: false },
  );
  const call: TestApi['call'] = async (token, method, path, body, headers = {}) => {
    const res = await fetch(app.url + path, {
      method,
      headers: {
        ...(token && { authorization: `Bearer ${token}` }),
        ...(body !== undefined && typeof body !== 'string' && { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed };
  };
  return {
    url: app.url,
    app,
    db,
    call,
    async close() {
      await app.close();
      await db.drop();
    },
  };
}

/** A project with a write token, a read token and one run with its run token. */
export async function seedProject(api: TestApi, name: string) {
  const p = await api.call(ADMIN, 'POST', '/api/v1/projects', { name, namespace: `ns-${name}` });
  if (p.status !== 201) throw new Error(`create project: ${p.status} ${JSON.stringify(p.body)}`);
  const id = p.body.id as string;
  const w = await api.call(ADMIN, 'POST', `/api/v1/projects/${id}/tokens`, { name: 'w', scope: 'write' });
  const r = await api.call(ADMIN, 'POST', `/api/v1/projects/${id}/tokens`, { name: 'r', scope: 'read' });
  const run = await api.call(w.body.token, 'POST', `/api/v1/projects/${id}/runs`, {
    name: 'run-1',
    issueToken: true,
  });
  return {
    id,
    namespace: `ns-${name}`,
    writeToken: w.body.token as string,
    writeTokenId: w.body.id as string,
    readToken: r.body.token as string,
    runId: run.body.id as string,
    runToken: run.body.token as string,
  };
}

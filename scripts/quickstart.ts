// The quickstart's main job: a training run recorded by the platform, opened in the dashboard. Uses the
// local platform that scripts/platform.sh started (API, dashboard, Postgres), makes a `quickstart`
// project and a write token, runs `kiln fit --track` on the digits example (the platform logger records
// the run through the API, as it does in a worker pod), reads the run back from the API, and ends by
// printing a one-time sign-in link that opens the run's page. The platform stays up until
// `bash scripts/platform.sh down`. Usage: node … scripts/quickstart.ts [kiln fit flags]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

async function api<T>(base: string, token: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/api/v1${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok)
    throw new Error(`${body === undefined ? 'GET' : 'POST'} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** What scripts/platform.sh up wrote: the API's and the dashboard's URLs and the admin token's file. */
function platformEnv(): { apiUrl: string; webUrl: string; adminToken: string } {
  const home = process.env.KILN_PLATFORM_HOME ?? join(homedir(), '.kiln/platform');
  const file = join(home, 'env');
  if (!existsSync(file)) throw new Error(`${file} is missing: run bash scripts/platform.sh up first`);
  const env = Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return {
    apiUrl: env.KILN_API_URL!,
    webUrl: env.KILN_WEB_URL!,
    adminToken: readFileSync(env.KILN_ADMIN_TOKEN_FILE!, 'utf8').trim(),
  };
}

const { apiUrl: base, webUrl, adminToken } = platformEnv();

{
  const projects = await api<{ id: string; name: string }[]>(base, adminToken, '/projects');
  const project =
    projects.find((p) => p.name === 'quickstart') ??
    (await api<{ id: string }>(base, adminToken, '/projects', { name: 'quickstart', namespace: 'default' }));
  const { token } = await api<{ token: string }>(base, adminToken, `/projects/${project.id}/tokens`, {
    name: `quickstart-${Date.now()}`,
    scope: 'write',
  });
  const runName = `digits-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
  console.log(`[quickstart] API at ${base}; training ${runName}, recorded in project "quickstart"`);
  // --track records the run through the API, as the platform logger does in a worker pod
  const fit = spawn(
    `${root}/node_modules/.bin/kiln`,
    [
      'fit',
      'examples/digits/train.ts',
      '--max-epochs',
      '5',
      ...process.argv.slice(2),
      '--track',
      base,
      '--project',
      'quickstart',
      '--token',
      token,
      '--run-name',
      runName,
    ],
    { cwd: root, stdio: 'inherit' },
  );
  const [code] = (await once(fit, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`kiln fit exited with code ${code}`);

  const runs = await api<{ items: { id: string; name: string; status: string }[] }>(
    base,
    token,
    `/projects/${project.id}/runs?name=${runName}`,
  );
  const run = runs.items.find((r) => r.name === runName);
  if (!run) throw new Error(`the API has no run named ${runName}: the platform logger did not record it`);
  const keys = await api<{ key: string; count: number; lastStep: number }[]>(
    base,
    token,
    `/runs/${run.id}/metrics/keys`,
  );
  console.log(`\n[quickstart] run ${run.id} "${run.name}": ${run.status}, recorded in Postgres by the API`);
  for (const k of keys) {
    const s = await api<{ points: { step: number; value: number }[] }>(
      base,
      token,
      `/runs/${run.id}/metrics/series?key=${encodeURIComponent(k.key)}&maxPoints=1000`,
    );
    const last = s.points.at(-1);
    console.log(
      `[quickstart]   ${k.key.padEnd(12)} ${String(k.count).padStart(5)} points, last ${last?.value.toFixed(4)} at step ${last?.step}`,
    );
  }
  // A one-time sign-in link (spent on first use, valid 10 minutes): the dashboard keeps the token in an
  // httpOnly cookie and opens the run's page.
  const link = await fetch(`${webUrl}/auth/links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ next: `/runs/${run.id}` }),
  });
  if (!link.ok) throw new Error(`the dashboard refused a sign-in link: ${link.status} ${await link.text()}`);
  const { url } = (await link.json()) as { url: string };
  console.log(
    `\n[quickstart] open the run in the dashboard (one-time link, valid 10 minutes):\n\n    ${url}\n`,
  );
  console.log('[quickstart] the platform keeps running; stop it with: bash scripts/platform.sh down');
}

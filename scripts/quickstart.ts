// The quickstart's main job: a training run recorded by the platform. Starts the API (on the Postgres of
// scripts/services.sh), makes a `quickstart` project and a write token, runs `kiln fit --track` on the
// digits example (the platform logger records the run through the API, as it does in a worker pod), then
// reads the run back from the API and prints it. Usage: node … scripts/quickstart.ts [kiln fit flags]
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const adminToken = randomBytes(24).toString('hex');

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  return port;
}

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

async function waitReady(base: string, apiProc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (apiProc.exitCode !== null) throw new Error(`the API exited with code ${apiProc.exitCode}`);
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the API did not become ready within 60 s');
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const apiProc = spawn(process.execPath, [...process.execArgv, 'apps/api/src/main.ts'], {
  cwd: root,
  env: { ...process.env, PORT: String(port), KILN_ADMIN_TOKEN: adminToken, KILN_KUBECONFIG: 'none' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const stopApi = () => apiProc.exitCode === null && apiProc.kill('SIGTERM');
process.on('exit', stopApi);

try {
  await waitReady(base, apiProc);
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
} finally {
  stopApi();
}

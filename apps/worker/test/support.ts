// Shared by the worker's tests: a migrated database with a project, sweeps inserted as the API inserts
// them, a worker on a private Redis prefix, and waits on sweep/trial rows.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createDb, createTestDatabase, type Db, type TestDatabase } from '@kiln/db';
import { waitFor } from '@kiln/local-cluster/test-helper';
import { API_GROUP_VERSION, SWEEP_KIND, type Sweep, validateSweep } from '@kiln/spec';

export { waitFor };

export const FAKE_TRAINER = new URL('./fixtures/trial.mjs', import.meta.url).pathname;
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const redisPrefix = () => `kiln-t-${randomBytes(4).toString('hex')}`;

export interface TestDb {
  t: TestDatabase;
  db: Db;
  projectId: string;
  close(): Promise<void>;
}

export async function testDb(label: string, namespace = 'default'): Promise<TestDb> {
  const t = await createTestDatabase(label);
  const db = createDb(t.url);
  const { rows } = await db.pool.query<{ id: string }>(
    'INSERT INTO projects (name, namespace) VALUES ($1, $2) RETURNING id',
    [`p-${label}`, namespace],
  );
  return {
    t,
    db,
    projectId: rows[0]!.id,
    async close() {
      await db.close();
      await t.drop();
    },
  };
}

export function sweepDoc(name: string, spec: Record<string, unknown>): Sweep {
  const v = validateSweep({ apiVersion: API_GROUP_VERSION, kind: SWEEP_KIND, metadata: { name }, spec });
  if (!v.ok) throw new Error(`bad test sweep: ${JSON.stringify(v.errors)}`);
  return v.value as Sweep;
}

export async function insertSweep(
  d: TestDb,
  doc: Sweep,
  opts: { namespace?: string; executor?: 'cluster' | 'local' } = {},
): Promise<string> {
  const { rows } = await d.db.pool.query<{ id: string }>(
    `INSERT INTO sweeps (project_id, name, namespace, spec, executor, max_trials, parallelism)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [
      d.projectId,
      doc.metadata.name,
      opts.namespace ?? 'default',
      JSON.stringify(doc),
      opts.executor ?? 'cluster',
      doc.spec.maxTrials ?? null,
      doc.spec.parallelism,
    ],
  );
  return rows[0]!.id;
}

export async function sweepStatus(d: TestDb, id: string): Promise<string> {
  const { rows } = await d.db.pool.query<{ status: string }>('SELECT status FROM sweeps WHERE id = $1', [id]);
  return rows[0]!.status;
}

export interface TrialView {
  number: number;
  state: string;
  params: Record<string, unknown>;
  value: number | null;
  runId: string | null;
  jobUid: string | null;
}

export async function trialRows(d: TestDb, id: string): Promise<TrialView[]> {
  const { rows } = await d.db.pool.query<TrialView>(
    `SELECT number, state, params, value, run_id AS "runId", job_uid AS "jobUid" FROM trials
     WHERE sweep_id = $1 ORDER BY number`,
    [id],
  );
  return rows;
}

const repoRoot = new URL('../../../', import.meta.url).pathname;

/** The sweep worker as a child process (fixtures/worker-process.ts); `ready` resolves once it started. */
export function spawnWorkerProcess(env: NodeJS.ProcessEnv): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(
    process.execPath,
    [
      '--conditions=kiln-src',
      '--import',
      '@swc-node/register/esm-register',
      new URL('./fixtures/worker-process.ts', import.meta.url).pathname,
    ],
    { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const ready = new Promise<void>((resolve) =>
    child.stdout!.on('data', (b: Buffer) => b.toString().includes('worker started') && resolve()),
  );
  return { child, ready };
}

/**
 * Two workers at once, each SIGKILLed at a random moment of its life (100–1,500 ms after it started) and
 * started again, until `kills` kills or until `done()`. Returns the number of kills.
 */
export async function killWorkersAtRandom(
  env: NodeJS.ProcessEnv,
  kills: number,
  done: () => Promise<boolean>,
): Promise<number> {
  let n = 0;
  const lane = async () => {
    while (n < kills && !(await done())) {
      const { child, ready } = spawnWorkerProcess(env);
      const exited = new Promise((r) => child.once('exit', r));
      await Promise.race([ready, exited]);
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 1400));
      if (child.exitCode !== null) throw new Error(`a worker exited by itself with code ${child.exitCode}`);
      child.kill('SIGKILL');
      n++;
      await exited;
    }
  };
  await Promise.all([lane(), lane()]);
  return n;
}

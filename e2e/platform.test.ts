// Kiln across the whole stack, as a platform team and its users meet it: charts/kiln installed with Helm
// into the local control plane (deploy/local-cluster; the node agent plays the chart's images from this
// checkout), a TrainingJob submitted with the `kiln` command (its bin, in a child process, logged in
// like a user) and one from the dashboard's form in Debian's Chromium; their metrics read back through
// both; a worker's process killed mid-training, the gang restarted and resumed from its checkpoint; and
// `helm uninstall` leaving nothing of the release behind.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { clusterForTests, waitFor } from '@kiln/local-cluster/test-helper';
import { ENV } from '@kiln/spec';
import { CoordinationV1Api } from '@kubernetes/client-node';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, withPage } from '../apps/web/test/support/platform.js';
import { IMAGE_REGISTRY, releaseImages, repoRoot, sql, TestRelease } from '../charts/kiln/test/release.js';

const t0 = Date.now();
const { images } = releaseImages();
const k = clusterForTests({ nodes: [{ name: 'platform-1', cpu: '32', memory: '64Gi' }], images });
const rel = new TestRelease(k, { namespace: 'kiln-e2e' });
const home = mkdtempSync(join(tmpdir(), 'kiln-e2e-home-'));

// The trainer every job runs: Kiln's regression example with DDP, checkpointing every 10 steps, resuming
// from last.ckpt when the operator relaunches the gang (apps/operator/test/fixtures/ddp-regression.ts).
const TRAINER = [
  'node',
  '--conditions=kiln-src',
  '--import',
  '@swc-node/register/esm-register',
  'apps/operator/test/fixtures/ddp-regression.ts',
];
const TRAINER_IMAGE = `${IMAGE_REGISTRY}/kiln-trainer:0.1.0`;

/** The `kiln` command as a user runs it: its bin in a child process (compiled when built), its own config dir. */
async function kiln(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const compiled = existsSync(join(repoRoot, 'apps/cli/dist/main.js'));
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(home, 'config'), NODE_OPTIONS: '' };
  for (const v of ['KILN_API_URL', 'KILN_TOKEN', 'KILN_PROJECT', 'KILN_DASHBOARD_URL']) delete env[v];
  if (compiled) env.NODE_ENV = 'production';
  else delete env.NODE_ENV;
  // Asynchronously: this process hosts the node agent, which must keep serving the pods.
  return new Promise((resolve) => {
    execFile(
      join(repoRoot, 'apps/cli/bin/kiln'),
      args,
      { cwd: home, env, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
      (err, out, errOut) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, out, err: errOut });
      },
    );
  });
}

interface JobJson {
  metadata: { name: string };
  status?: {
    phase?: string;
    restarts?: number;
    lastCheckpoint?: { path: string };
    progress?: { step?: number; totalSteps?: number };
    conditions?: { type: string; message?: string }[];
  };
}

describe('Kiln end to end: Helm chart, kiln CLI, dashboard, a killed worker', () => {
  let api = '';
  let dashboard = '';
  let jobsNs = '';
  let token = '';
  let browser: Browser;
  let ctx: BrowserContext;
  let installSeconds = 0;

  const apiCall = async (method: string, path: string, body?: unknown, as = token) => {
    const r = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${as}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers.
    return { status: r.status, body: (text ? JSON.parse(text) : undefined) as any };
  };
  const job = async (name: string): Promise<JobJson> => {
    const r = await k.kubectl(['get', 'tj', name, '-n', jobsNs, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };

  before(
    async () => {
      await rel.prepare();
      // The dashboard image ships a production build; the checkout gets the same one (skipped when current).
      await promisify(execFile)(process.execPath, [join(repoRoot, 'apps/web/scripts/build.mjs')], {
        maxBuffer: 64 * 1024 * 1024,
      });
      const t = Date.now();
      await rel.install();
      installSeconds = (Date.now() - t) / 1000;
      const endpoint = (component: string, port: number) =>
        waitFor(`a ready ${component} endpoint`, async () => rel.endpoints(component, port)[0], 60_000);
      api = `http://${await endpoint('api', 8080)}`;
      dashboard = `http://${await endpoint('dashboard', 3000)}`;
      // The platform team's part: a project bound to a namespace, and a write token for its user.
      jobsNs = await k.namespace('kiln-e2e-jobs');
      const admin = await rel.adminToken();
      const project = await apiCall('POST', '/api/v1/projects', { name: 'e2e', namespace: jobsNs }, admin);
      assert.equal(project.status, 201, JSON.stringify(project.body));
      const write = await apiCall(
        'POST',
        `/api/v1/projects/${project.body.id}/tokens`,
        { name: 'user', scope: 'write' },
        admin,
      );
      token = write.body.token;
      browser = await launchBrowser();
      ctx = await browser.newContext();
    },
    { timeout: 1_200_000 },
  );

  after(async () => {
    await ctx?.close();
    await browser?.close();
    await rel.cleanup();
    rmSync(home, { recursive: true, force: true });
    console.log(
      `e2e: helm install --wait ${installSeconds.toFixed(1)} s; whole file ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  });

  const signIn = async (page: Page) => {
    await page.goto(`${dashboard}/signin`);
    await page.fill('#token', token);
    await Promise.all([page.waitForURL(/\/runs/), page.click('button[type=submit]')]);
  };

  /** The run page's chart of `key` once drawn: its point count and the total the API holds. */
  const chartOf = async (page: Page, key: string) => {
    const chart = page.locator(`[data-testid=metric-chart][data-key="${key}"]`);
    await page.waitForFunction(
      (k) => {
        const c = document.querySelector(`[data-testid=metric-chart][data-key="${k}"]`);
        return c?.getAttribute('data-state') === 'drawn' && Number(c.getAttribute('data-points')) > 0;
      },
      key,
      { timeout: 120_000 },
    );
    return {
      points: Number(await chart.getAttribute('data-points')),
      total: Number(await chart.getAttribute('data-total')),
    };
  };

  let cliRun = '';

  test('kiln login and kiln submit: a 2-worker job trains; a worker killed mid-training restarts the gang, which resumes from its checkpoint', {
    timeout: 900_000,
  }, async () => {
    const login = await kiln('login', api, '--token', token, '--project', 'e2e', '--dashboard', dashboard);
    assert.equal(login.code, 0, login.err);

    const file = join(home, 'job.yaml');
    writeFileSync(
      file,
      `apiVersion: kiln.dev/v1alpha1
kind: TrainingJob
metadata:
  name: cli-job
spec:
  image: ${TRAINER_IMAGE}
  command: ${JSON.stringify(TRAINER)}
  workers: 2
  hyperparameters: {maxEpochs: 4, samples: 16384}
  env: [{name: FAKE_HOLD_AT_STEP, value: "60"}]
  resources:
    limits: {cpu: "1", memory: 2Gi}
`,
    );
    const submitted = await kiln('submit', '-f', file, '-o', 'json');
    assert.equal(submitted.code, 0, submitted.err);
    const sub = JSON.parse(submitted.out) as { job: JobJson; runId: string; url?: string };
    assert.equal(sub.job.metadata.name, 'cli-job');
    assert.equal(sub.url, `${dashboard}/runs/${sub.runId}`, 'submit prints the run’s dashboard page');
    cliRun = sub.runId;

    // Training, with a checkpoint written: kill worker 1's process as the kernel's OOM killer would. Its
    // rank waits at step 60 (FAKE_HOLD_AT_STEP), so the kill is mid-training even when the operator's
    // progress poll (every 10 s) reports late and the steps run fast.
    const running = await waitFor(
      'cli-job training with a checkpoint',
      async () => {
        const j = await job('cli-job');
        return (j.status?.progress?.step ?? 0) >= 10 && j.status?.lastCheckpoint ? j : undefined;
      },
      300_000,
    );
    const total = running.status!.progress!.totalSteps!;
    assert.ok(running.status!.progress!.step! < total, 'the job finished before the worker could be killed');
    const pod = await k.core.readNamespacedPod({ name: 'cli-job-worker-1', namespace: jobsNs });
    const pid = Number(/^kiln:\/\/(\d+)$/.exec(pod.status?.containerStatuses?.[0]?.containerID ?? '')?.[1]);
    assert.ok(pid > 0, `no process for cli-job-worker-1: ${JSON.stringify(pod.status?.containerStatuses)}`);
    process.kill(pid, 'SIGKILL');

    // `kiln status -w` follows the job to its end and exits 0 for Succeeded.
    const watched = await kiln('status', 'cli-job', '-w', '--interval', '1');
    assert.equal(watched.code, 0, `${watched.out}\n${watched.err}`);
    assert.match(watched.out, /cli-job\s+Succeeded\s/);
    const done = await job('cli-job');
    assert.equal(done.status?.restarts, 1);
    assert.match(
      done.status?.conditions?.find((c) => c.type === 'Restarting')?.message ?? '',
      /cli-job-worker-1 exited with code 137/,
    );
    const dir = join(rel.checkpointRoot, jobsNs, 'cli-job');
    assert.equal(pod.spec?.containers[0]?.env?.find((e) => e.name === ENV.checkpointDir)?.value, dir);
    assert.equal(done.status?.lastCheckpoint?.path, join(dir, 'last.ckpt'));
    const final = JSON.parse(readFileSync(join(dir, 'final.json'), 'utf8'));
    assert.deepEqual(final, { step: total, resumed: true });

    // The CLI shows the run with its latest metrics; the API holds its points.
    const runs = await kiln('runs', '-o', 'json');
    assert.equal(runs.code, 0, runs.err);
    const run = (
      JSON.parse(runs.out) as {
        id: string;
        status: string;
        progress?: { step?: number; metrics?: Record<string, number> };
      }[]
    ).find((r) => r.id === cliRun);
    assert.equal(run?.status, 'succeeded');
    assert.equal(run?.progress?.step, total, 'the run’s progress ends on its last step');
    assert.ok(
      Number.isFinite(run?.progress?.metrics?.['train/mse']),
      `no train/mse in ${JSON.stringify(run)}`,
    );
    const table = await kiln('runs');
    assert.match(table.out, new RegExp(`^${cliRun}\\s.*\\ssucceeded\\s+cli-job\\s`, 'm'));
  });

  test('the dashboard shows the CLI job: its metrics charted from every stored point, its phase and restart', {
    timeout: 300_000,
  }, async () => {
    assert.ok(cliRun, 'needs the CLI job');
    const stored = await sql(
      rel.databaseUrl,
      async (c) =>
        (
          await c.query(
            `SELECT count(*)::int AS n FROM metric_points p JOIN metric_series s ON s.id = p.series_id
             WHERE s.run_id = $1 AND s.key = 'train/mse'`,
            [cliRun],
          )
        ).rows[0].n as number,
    );
    assert.ok(stored > 0, 'no train/mse points stored');
    await withPage(ctx, 'e2e-cli-run', async (page) => {
      await signIn(page);
      await page.goto(`${dashboard}/runs/${cliRun}`);
      await page.locator('[data-testid=run-status]', { hasText: 'succeeded' }).waitFor();
      const chart = await chartOf(page, 'train/mse');
      assert.equal(chart.total, stored, 'the chart counts every point the API stored');
      await page.locator('[data-testid=job-phase]', { hasText: 'Succeeded' }).waitFor();
      await page.locator('[data-testid=job-panel]', { hasText: 'restarts: 1' }).waitFor();
    });
  });

  test('a job submitted from the dashboard’s form trains to Succeeded; the run page charts it and the CLI lists it', {
    timeout: 600_000,
  }, async () => {
    let webRun = '';
    await withPage(ctx, 'e2e-web-submit', async (page) => {
      await signIn(page);
      await page.goto(`${dashboard}/submit`);
      await page.fill('#name', 'web-job');
      await page.fill('#image', TRAINER_IMAGE);
      await page.fill('#command', TRAINER.join(' '));
      await page.fill('#workers', '1');
      await page.fill('#cpu', '1');
      await page.fill('#memory', '2Gi');
      await page.fill('#hyperparameters', 'maxEpochs: 2\nsamples: 2048\n');
      await page.click('[data-testid=submit-form] button[type=submit]');
      await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/, { timeout: 60_000 });
      webRun = page.url().split('/').at(-1)!;
      await page.locator('[data-testid=job-phase]', { hasText: 'Succeeded' }).waitFor({ timeout: 480_000 });
      await page.locator('[data-testid=run-status]', { hasText: 'succeeded' }).waitFor();
      const chart = await chartOf(page, 'train/mse');
      assert.ok(chart.points > 0);
    });
    const status = await kiln('status', 'web-job', '-o', 'json');
    assert.equal(status.code, 0, status.err);
    assert.equal((JSON.parse(status.out) as JobJson).status?.phase, 'Succeeded');
    const runs = await kiln('runs', '-o', 'json');
    const ids = (JSON.parse(runs.out) as { id: string }[]).map((r) => r.id);
    assert.ok(ids.includes(webRun) && ids.includes(cliRun), `kiln runs lists ${ids.join(', ')}`);
    const run = await apiCall('GET', `/api/v1/runs/${webRun}`);
    assert.equal(run.body.job?.name, 'web-job');
  });

  test('helm uninstall leaves no pods, Services or Leases of the release; the jobs’ workers are not running', {
    timeout: 300_000,
  }, async () => {
    await rel.helm(['uninstall', rel.name, '--wait', '--timeout', '5m']);
    await waitFor('every pod of the release gone', async () => (await rel.pods()).length === 0, 120_000);
    const services = (await k.core.listNamespacedService({ namespace: rel.ns })).items;
    assert.deepEqual(
      services.map((s) => s.metadata!.name),
      [],
    );
    const leases = (await k.kc.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace: rel.ns }))
      .items;
    assert.deepEqual(
      leases.map((l) => l.metadata!.name),
      [],
    );
    const workers = (await k.core.listNamespacedPod({ namespace: jobsNs })).items;
    assert.deepEqual(
      workers.filter((p) => p.status?.phase === 'Running').map((p) => p.metadata!.name),
      [],
    );
  });
});

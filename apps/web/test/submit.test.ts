// The submit form against the real Kubernetes control plane (deploy/local-cluster), the real API and
// Postgres, in Debian's Chromium: invalid input shows the spec's errors at the fields and sends nothing
// (no TrainingJob, no run); a name the cluster already has comes back from the API at the name field; a
// valid form creates the TrainingJob on the apiserver and opens its run.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { clusterForTests, waitFor } from '@kiln/local-cluster/test-helper';
import type { Browser, BrowserContext } from 'playwright-core';
import { KubeJobBackend } from '../../api/src/jobs/backend.js';
import { ADMIN, startApi, type TestApi } from '../../api/test/support/api.js';
import { type Dashboard, launchBrowser, signIn, startDashboard, withPage } from './support/platform.js';

const k = clusterForTests({ nodes: [] });

describe('submit form on the local control plane', () => {
  let api: TestApi;
  let web: Dashboard;
  let browser: Browser;
  let ctx: BrowserContext;
  let ns = '';
  let project = '';
  let token = '';

  const trainingJobs = async () => {
    const r = await k.kubectl(['get', 'trainingjobs', '-n', ns, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return (
      JSON.parse(r.stdout) as { items: { metadata: { name: string }; spec: Record<string, unknown> }[] }
    ).items;
  };
  const runCount = async () =>
    (await api.call(token, 'GET', `/api/v1/projects/${project}/runs?limit=1`)).body.total as number;

  before(async () => {
    await k.installTrainingJobCrd();
    ns = await k.namespace('websubmit');
    api = await startApi('websubmit', {}, new KubeJobBackend(k.kc));
    const p = await api.call(ADMIN, 'POST', '/api/v1/projects', { name: 'websubmit', namespace: ns });
    project = p.body.id;
    token = (
      await api.call(ADMIN, 'POST', `/api/v1/projects/${project}/tokens`, { name: 'w', scope: 'write' })
    ).body.token;
    web = await startDashboard(api.url);
    browser = await launchBrowser();
    ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, web, token);
    await page.close();
  });
  after(async () => {
    await ctx?.close();
    await browser?.close();
    await web?.stop();
    await api?.close();
  });

  test('invalid input: the spec errors show at their fields; nothing is sent or created', async () => {
    await withPage(ctx, 'submit-invalid', async (page) => {
      let posts = 0;
      page.on('request', (r) => {
        if (r.method() === 'POST' && r.url().includes('/jobs')) posts++;
      });
      await page.goto(`${web.url}/submit`);
      await page.fill('#name', 'Bad_Name');
      await page.fill('#workers', '0');
      await page.fill('#image', '');
      await page.fill('#hyperparameters', 'lr: [unclosed');
      await page.click('[data-testid=submit-form] button[type=submit]');
      const err = async (id: string) =>
        (await page.locator(`[data-field=${id}] .field-error`).allTextContents()).join(' ');
      await page.locator('[data-field=workers] .field-error').waitFor();
      assert.match(await err('workers'), /1/, await err('workers'));
      assert.match(await err('name'), /DNS-1035/);
      assert.notEqual(await err('image'), '');
      assert.match(await err('hyperparameters'), /not valid YAML/);
      assert.equal(await page.locator('#workers').getAttribute('aria-invalid'), 'true');
      assert.equal(posts, 0, 'the browser sent nothing');
      assert.deepEqual(await trainingJobs(), []);
      assert.equal(await runCount(), 0);
    });
  });

  test('a valid form creates the TrainingJob on the apiserver and opens its run; a taken name is refused at the field', async () => {
    await withPage(ctx, 'submit-valid', async (page) => {
      await page.goto(`${web.url}/submit`);
      await page.fill('#name', 'web-job-1');
      await page.fill('#workers', '2');
      await page.fill('#hyperparameters', 'lr: 0.003\nbatch: 64\n');
      await page.click('summary:has-text("Manifest as YAML")');
      assert.match((await page.locator('[data-testid=yaml-preview]').textContent()) ?? '', /workers: 2/);
      await page.click('[data-testid=submit-form] button[type=submit]');
      await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/, { timeout: 60_000 });
      const runId = page.url().split('/').pop()!;
      const jobs = await trainingJobs();
      assert.deepEqual(
        jobs.map((j) => j.metadata.name),
        ['web-job-1'],
      );
      assert.equal(jobs[0]!.spec.workers, 2);
      assert.deepEqual(jobs[0]!.spec.hyperparameters, { lr: 0.003, batch: 64 });
      const run = await api.call(token, 'GET', `/api/v1/runs/${runId}`);
      assert.equal(run.status, 200);
      assert.equal(run.body.job.name, 'web-job-1');
      await page.locator('[data-testid=job-panel]').waitFor();
      // The panel lists the job's Kubernetes events (here one the scheduler would write for a worker pod);
      // a Warning opens the list.
      await k.core.createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { generateName: 'web-job-1-worker-1.', namespace: ns },
          involvedObject: { kind: 'Pod', name: 'web-job-1-worker-1', namespace: ns, apiVersion: 'v1' },
          type: 'Warning',
          reason: 'FailedScheduling',
          message: '0/0 nodes are available',
          firstTimestamp: new Date(),
          lastTimestamp: new Date(),
          count: 1,
          source: { component: 'default-scheduler' },
        },
      });
      await page.waitForFunction(
        () => {
          const d = document.querySelector('[data-testid=job-events]') as HTMLDetailsElement | null;
          return (
            !!d?.open &&
            /Pod\/web-job-1-worker-1\s*FailedScheduling\s*0\/0 nodes are available/.test(d.textContent ?? '')
          );
        },
        null,
        { timeout: 30_000 },
      );

      // Same name again: the API answers 400 at body.metadata.name, shown at the name field.
      await page.goto(`${web.url}/submit`);
      await page.fill('#name', 'web-job-1');
      await page.click('[data-testid=submit-form] button[type=submit]');
      await page.waitForFunction(() =>
        /already exists/.test(document.querySelector('[data-field=name] .field-error')?.textContent ?? ''),
      );
      assert.equal((await trainingJobs()).length, 1);
      assert.equal(await runCount(), 1);
    });
  });

  test("the job panel's suspend, resume and cancel reach the TrainingJob on the apiserver; the run ends cancelled", async () => {
    const name = 'panel-job';
    const sub = await api.call(token, 'POST', `/api/v1/projects/${project}/jobs`, {
      metadata: { name },
      spec: {
        image: 'registry.example/kiln-trainer:0.1',
        command: ['kiln', 'fit', 'train.ts'],
        workers: 2,
        tracking: { project: 'websubmit', runName: name },
      },
    });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const runId = sub.body.runId as string;
    const job = async () => {
      const r = await k.kubectl(['get', 'trainingjob', name, '-n', ns, '-o', 'json', '--ignore-not-found']);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim()
        ? (JSON.parse(r.stdout) as { spec: { runPolicy?: { suspend?: boolean } } })
        : null;
    };
    // What the operator would write: the job running with both workers.
    const status = await k.kubectl([
      'patch',
      'trainingjob',
      name,
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { phase: 'Running', workers: { running: 2, ready: 2 } } }),
    ]);
    assert.equal(status.code, 0, status.stderr);

    await withPage(ctx, 'job-panel-actions', async (page) => {
      const sent: string[] = [];
      page.on('request', (r) => {
        if (r.url().includes(`/jobs/${name}`) && r.method() !== 'GET') sent.push(`${r.method()} ${r.url()}`);
      });
      await page.goto(`${web.url}/runs/${runId}`);
      const panel = page.locator('[data-testid=job-panel]');
      await page.waitForFunction(
        () => document.querySelector('[data-testid=job-phase]')?.textContent === 'Running',
      );
      assert.match(
        (await panel.textContent()) ?? '',
        /workers: 2 running, 2 ready, 0 succeeded, 0 failed of 2/,
      );
      await page.waitForFunction(
        () => document.querySelector('[data-testid=run-status]')?.textContent === 'running',
      );

      await panel.locator('button:has-text("Suspend")').click();
      await waitFor(
        'spec.runPolicy.suspend true',
        async () => (await job())?.spec.runPolicy?.suspend === true,
      );
      await panel.locator('button:has-text("Resume")').waitFor();
      assert.equal(await panel.locator('button:has-text("Suspend")').count(), 0);

      await panel.locator('button:has-text("Resume")').click();
      await waitFor(
        'spec.runPolicy.suspend false',
        async () => (await job())?.spec.runPolicy?.suspend === false,
      );
      await panel.locator('button:has-text("Suspend")').waitFor();

      // Cancel asks first; dismissed, nothing is sent and the job stays.
      page.once('dialog', (d) => void d.dismiss());
      await panel.locator('button:has-text("Cancel")').click();
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(await job(), 'the job is still there');
      assert.equal(sent.filter((s) => s.startsWith('DELETE')).length, 0, sent.join('\n'));

      let asked = '';
      page.once('dialog', (d) => {
        asked = d.message();
        void d.accept();
      });
      await panel.locator('button:has-text("Cancel")').click();
      await waitFor('the TrainingJob deleted', async () => (await job()) === null);
      assert.match(asked, /Cancel panel-job\?/);
      assert.deepEqual(
        sent.map((s) => s.replace(/^(\w+) .*\/jobs\//, '$1 ')),
        [`POST ${name}/suspend`, `POST ${name}/resume`, `DELETE ${name}`],
      );
      // The run follows its job: cancelled, shown live; the panel offers no more actions.
      await page.waitForFunction(
        () => document.querySelector('[data-testid=run-status]')?.textContent === 'cancelled',
        null,
        { timeout: 30_000 },
      );
      await page.waitForFunction(
        () => document.querySelector('[data-testid=job-phase]')?.textContent === 'deleted',
      );
      assert.equal(await panel.locator('button').count(), 0);
      assert.match((await panel.textContent()) ?? '', /TrainingJob panel-job not found/);
      assert.doesNotMatch((await panel.textContent()) ?? '', /workers: 2 running/);
      // And it stops asking for a job that is gone (it polled every 5 s).
      let polls = 0;
      page.on('request', (r) => {
        if (r.url().includes(`/jobs/${name}`)) polls++;
      });
      await new Promise((r) => setTimeout(r, 6000));
      assert.equal(polls, 0);
    });
    assert.equal((await api.call(token, 'GET', `/api/v1/runs/${runId}`)).body.status, 'cancelled');
  });
});

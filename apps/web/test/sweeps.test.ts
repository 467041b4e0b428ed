// The sweep pages end to end: Debian's Chromium against `next start`, the real API and Postgres (and
// Redis, where the API sends "sweep changed"). A sweep created from YAML in the browser is listed and
// paused, resumed, re-limited and stopped; bad YAML shows the API's own field errors and creates
// nothing; a sweep whose trials run as processes through the real local executor (@kiln/sweep-runner,
// trials recording through the API) fills the trials table live and its charts draw every trial.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runLocalSweep } from '@kiln/sweep-runner';
import { pino } from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  call,
  type Dashboard,
  launchBrowser,
  repoRoot,
  type ServedApi,
  serveApi,
  signIn,
  startDashboard,
  withPage,
} from './support/platform.js';

/** The form's own button (the header's sign-out is the page's first submit button). */
const CREATE = '[data-testid=sweep-form] button[type=submit]';
const TRIAL = new URL('./fixtures/trial.mjs', import.meta.url).pathname;
let api: ServedApi;
let web: Dashboard;
let browser: Browser;
let ctx: BrowserContext;
let dir: string;

const sweeps = async () =>
  (await call(api, api.projectToken, 'GET', `/projects/${api.projectId}/sweeps`)).body;

/** The browser's list of errors as `path: message`, line and column left out. */
async function shownErrors(page: Page): Promise<string[]> {
  await page.locator('[data-testid=sweep-errors] li').first().waitFor();
  return page
    .locator('[data-testid=sweep-errors] li')
    .evaluateAll((lis) =>
      lis.map(
        (li) =>
          `${li.getAttribute('data-path')}: ${li.textContent?.replace(/^[^:]*?(\(line \d+, column \d+\))?: /, '')}`,
      ),
    );
}

async function status(page: Page, want: string) {
  await page.waitForFunction(
    (w) => document.querySelector('[data-testid=sweep-status]')?.textContent === w,
    want,
  );
}

// Inside the describe: a root-level before() may still be running when the suite's tests start.
describe('sweep pages', () => {
  before(async () => {
    api = await serveApi({ KILN_REDIS_PREFIX: `kiln-t-web-${randomBytes(4).toString('hex')}` });
    web = await startDashboard(api.url);
    browser = await launchBrowser();
    ctx = await browser.newContext();
    dir = mkdtempSync(join(tmpdir(), 'kiln-web-sweep-'));
    await withPage(ctx, 'sweeps-signin', (page) => signIn(page, web, api.projectToken));
  });

  after(async () => {
    await ctx?.close();
    await browser?.close();
    await web?.stop();
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('bad YAML shows the same field errors as the API, at their lines, and creates nothing', async () => {
    const bad = `apiVersion: kiln.dev/v1alpha1
kind: Sweep
metadata: {name: Bad_Name}
spec:
  objective: {metric: val/loss, goal: sideways}
  algorithm: {type: random, seed: 1}
  parameters:
    x: {type: uniform, min: 0, max: 1}
  maxTrials: 4
  parallelism: 0
  trialTemplate: {image: img, command: [node]}
`;
    const before = (await sweeps()).total;
    // What the API says about the same document.
    const { parse } = await import('yaml');
    const refused = await call(
      api,
      api.projectToken,
      'POST',
      `/projects/${api.projectId}/sweeps`,
      parse(bad),
    );
    assert.equal(refused.status, 400);
    const apiErrors = (refused.body.errors as { path: string; message: string }[])
      .map((e) => `${e.path.replace(/^body\./, '')}: ${e.message}`)
      .sort();
    assert.ok(
      apiErrors.some((e) => e.startsWith('spec.parallelism: ')),
      apiErrors.join('\n'),
    );
    await withPage(ctx, 'sweep-bad-yaml', async (page) => {
      await page.goto(`${web.url}/sweeps/new`);
      await page.fill('#sweep-yaml', bad);
      await page.click(CREATE);
      assert.deepEqual((await shownErrors(page)).sort(), apiErrors);
      assert.match(
        (await page.locator('[data-path="spec.parallelism"]').textContent()) ?? '',
        /line 10, column \d+/,
      );
      assert.equal(await page.locator('#sweep-yaml').getAttribute('aria-invalid'), 'true');
      // Broken YAML is named with its line too.
      await page.fill('#sweep-yaml', 'spec: [unclosed\nmetadata: {name: x}\n');
      await page.click(CREATE);
      assert.match((await shownErrors(page)).join('\n'), /invalid YAML/);
      assert.match(page.url(), /\/sweeps\/new$/);
    });
    assert.equal((await sweeps()).total, before, 'no sweep was created');
  });

  test('a sweep created from YAML is listed; pause, resume, new limits and stop reach the API', async () => {
    const name = `web-${Date.now()}`;
    await withPage(ctx, 'sweep-create', async (page) => {
      await page.goto(`${web.url}/sweeps/new`);
      const yaml = (await page.locator('#sweep-yaml').inputValue()).replace(
        'name: my-sweep',
        `name: ${name}`,
      );
      await page.fill('#sweep-yaml', yaml);
      await Promise.all([page.waitForURL(/\/sweeps\/[0-9a-f-]{36}$/), page.click(CREATE)]);
      const id = page.url().split('/').at(-1)!;
      const created = await call(api, api.projectToken, 'GET', `/sweeps/${id}`);
      assert.equal(created.body.name, name);
      assert.equal(created.body.parallelism, 3);
      await status(page, 'running');
      // No worker runs cluster sweeps here: the page says why the table is empty.
      assert.match(
        (await page.locator('[data-testid=trials-table] tbody').textContent()) ?? '',
        /No trials yet/,
      );
      assert.match(
        (await page.locator('[data-testid=sweep-charts-empty]').textContent()) ?? '',
        /no trials started/,
      );

      await page.click('button[data-action=pause]');
      await status(page, 'paused');
      assert.equal((await call(api, api.projectToken, 'GET', `/sweeps/${id}`)).body.status, 'paused');
      await page.click('button[data-action=resume]');
      await status(page, 'running');

      // Limits: a bad value is named at its field and not sent; good ones are saved.
      await page.fill('#sweep-parallelism', '0');
      await page.click('[data-testid=sweep-limits] button[type=submit]');
      assert.match(
        (await page.locator('#sweep-parallelism-error').textContent()) ?? '',
        /integer from 1 to 1000/,
      );
      assert.equal((await call(api, api.projectToken, 'GET', `/sweeps/${id}`)).body.parallelism, 3);
      await page.fill('#sweep-parallelism', '5');
      await page.fill('#sweep-maxTrials', '20');
      await page.click('[data-testid=sweep-limits] button[type=submit]');
      await page.waitForFunction(() => !document.querySelector('#sweep-parallelism-error'));
      await page.waitForFunction(() =>
        /of 20/.test(document.querySelector('[data-testid=trial-counts]')?.textContent ?? ''),
      );
      const limited = (await call(api, api.projectToken, 'GET', `/sweeps/${id}`)).body;
      assert.deepEqual([limited.parallelism, limited.maxTrials], [5, 20]);

      page.once('dialog', (d) => void d.accept());
      await page.click('button[data-action=stop]');
      await status(page, 'stopping');
      assert.equal((await call(api, api.projectToken, 'GET', `/sweeps/${id}`)).body.status, 'stopping');

      await page.goto(`${web.url}/sweeps`);
      const row = page.locator(`[data-testid=sweeps-table] tr[data-sweep-id="${id}"]`);
      assert.match(
        (await row.textContent()) ?? '',
        new RegExp(`${name}.*stopping.*minimize val/loss.*0 / 20`),
      );
    });
  });

  test('trials run by the local executor appear live; the table, best trial and charts show every one', async () => {
    const doc = {
      apiVersion: 'kiln.dev/v1alpha1',
      kind: 'Sweep',
      metadata: { name: `local-${Date.now()}` },
      spec: {
        objective: { metric: 'val/loss', goal: 'minimize' },
        algorithm: { type: 'random', seed: 7 },
        parameters: {
          x: { type: 'uniform', min: 0, max: 1 },
          width: { type: 'int', min: 16, max: 128 },
        },
        maxTrials: 6,
        parallelism: 3,
        trialTemplate: {
          image: 'kiln-test',
          command: ['node', TRIAL],
          env: [{ name: 'EPOCHS', value: '2' }],
        },
      },
    };
    const created = await call(
      api,
      api.projectToken,
      'POST',
      `/projects/${api.projectId}/sweeps?executor=local`,
      doc,
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    await withPage(ctx, 'sweep-local-trials', async (page) => {
      await page.goto(`${web.url}/sweeps/${id}`);
      await page.locator('[data-testid=sweep-charts-empty]').waitFor();
      const finished = await runLocalSweep({
        databaseUrl: api.databaseUrl,
        sweepId: id,
        root: dir,
        cwd: repoRoot,
        trackingUrl: api.url,
        log: pino({ level: 'warn' }),
        intervalMs: 200,
      });
      assert.equal(finished, 'completed');
      const trials = (await call(api, api.projectToken, 'GET', `/sweeps/${id}/trials?sort=number`)).body
        .items as {
        number: number;
        state: string;
        value: number;
        params: { x: number; width: number };
      }[];
      assert.equal(trials.length, 6);
      for (const t of trials) {
        assert.equal(t.state, 'complete', JSON.stringify(t));
        assert.ok(Math.abs(t.value - ((t.params.x - 0.3) ** 2 + t.params.width / 1000 + 1 / 2)) < 1e-9);
      }
      // The rows arrive over the sweep's event stream, without a reload.
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll('[data-testid=trials-table] tbody tr[data-trial]')].filter((r) =>
            /complete/.test(r.textContent ?? ''),
          ).length === 6,
        null,
        { timeout: 30_000 },
      );
      const best = trials.reduce((a, b) => (b.value < a.value ? b : a));
      await page.waitForFunction(
        (n) =>
          new RegExp(`Best: trial ${n},`).test(
            document.querySelector('[data-testid=best-trial]')?.textContent ?? '',
          ),
        best.number,
      );

      // Sorting by the objective puts the best first; the sort is in the URL.
      await page.click('[data-testid=trials-table] button[data-sort=value]');
      await page.waitForURL(/sort=value/);
      const order = await page
        .locator('[data-testid=trials-table] tbody tr[data-trial]')
        .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-trial'))));
      assert.deepEqual(
        order,
        [...trials].sort((a, b) => a.value - b.value).map((t) => t.number),
      );
      await page.click('[data-testid=trials-table] button[data-sort="p.width"]');
      await page.waitForURL(/sort=p\.width/);
      await page.click('[data-testid=trials-table] button[data-sort="p.width"]');
      await page.waitForURL(/sort=-p\.width/);
      const byWidth = await page
        .locator('[data-testid=trials-table] tbody tr[data-trial]')
        .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-trial'))));
      assert.deepEqual(
        byWidth,
        [...trials]
          .sort((a, b) => b.params.width - a.params.width || a.number - b.number)
          .map((t) => t.number),
      );

      // Every chart drew every trial: ECharts' own description of what it drew lists each value.
      for (const chart of ['objective-chart', 'parallel-chart', 'param-scatter']) {
        const fig = page.locator(`[data-testid=${chart}]`);
        await page.waitForFunction(
          (c) => document.querySelector(`[data-testid=${c}]`)?.getAttribute('data-state') === 'drawn',
          chart,
        );
        assert.equal(await fig.getAttribute('data-points'), '6');
        const described = (await fig.locator('[aria-label]').first().getAttribute('aria-label')) ?? '';
        for (const t of trials)
          assert.ok(described.includes(String(t.value)), `${chart} lacks ${t.value}: ${described}`);
        assert.ok((await fig.locator('svg path').count()) > 6, `${chart} drew paths`);
      }
      // The scatter's parameter is view state in the URL.
      await page.selectOption('select[aria-label=Parameter]', 'width');
      await page.waitForURL(/param=width/);
      await page.reload();
      assert.equal(await page.locator('select[aria-label=Parameter]').inputValue(), 'width');
      assert.match((await page.locator('[data-testid=param-scatter] h3').textContent()) ?? '', /by width/);

      // The runs table grouped by sweep: the trials' runs under the sweep's heading, the rest under
      // "No sweep"; a heading's link narrows the table to that sweep.
      await page.goto(`${web.url}/runs?group=sweep`);
      const heading = page.locator(`tr.group[data-group="${id}"]`);
      assert.match(
        (await heading.textContent()) ?? '',
        new RegExp(`Sweep ${doc.metadata.name}.*6 on this page`),
      );
      assert.match((await page.locator('tr.group[data-group=none]').textContent()) ?? '', /No sweep/);
      const grouped = await page
        .locator('[data-testid=runs-table] tbody tr')
        .evaluateAll((rows) =>
          rows.map((r) => r.getAttribute('data-group') ?? r.getAttribute('data-run-id')),
        );
      const ownRuns = grouped.slice(grouped.indexOf(id) + 1, grouped.indexOf('none'));
      const trialRuns = (await call(api, api.projectToken, 'GET', `/sweeps/${id}/trials`)).body.items.map(
        (t: { runId: string }) => t.runId,
      );
      assert.deepEqual([...ownRuns].sort(), [...trialRuns].sort());
      await Promise.all([
        page.waitForURL(new RegExp(`sweep=${id}`)),
        heading.getByText('only its runs').click(),
      ]);
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid=runs-table] tbody tr[data-run-id]').length === 6,
      );
      assert.match((await page.locator('[data-testid=runs-total]').textContent()) ?? '', /^6 runs/);
    });
  });
});

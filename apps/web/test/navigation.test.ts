// Keyboard navigation of the runs table, the compare page it leads to, and the theme (follows the OS
// until one is picked; the pick is remembered). Debian's Chromium against `next start`, the real API
// and Postgres.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import {
  call,
  type Dashboard,
  launchBrowser,
  type ServedApi,
  serveApi,
  signIn,
  startDashboard,
  withPage,
} from './support/platform.js';

let api: ServedApi;
let web: Dashboard;
let browser: Browser;
const runs: Record<string, string> = {};

async function run(name: string, hyperparams: Record<string, unknown>, series: Record<string, number[]>) {
  const r = await call(api, api.projectToken, 'POST', `/projects/${api.projectId}/runs`, {
    name,
    hyperparams,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  for (const [key, values] of Object.entries(series)) {
    const m = await call(api, api.projectToken, 'POST', `/runs/${r.body.id}/metrics`, {
      series: [{ key, steps: values.map((_, i) => i), values }],
    });
    assert.equal(m.status, 200, JSON.stringify(m.body));
  }
  runs[name] = r.body.id;
}

const selectedRun = (page: Page) =>
  page.evaluate(() =>
    document.querySelector('[data-testid=runs-table] tr.selected')?.getAttribute('data-run-id'),
  );

const theme = (page: Page) => page.evaluate(() => document.documentElement.dataset.theme);

// Inside the describe: a root-level before() may still be running when the suite's tests start.
describe('keyboard, compare and theme', () => {
  before(async () => {
    api = await serveApi();
    web = await startDashboard(api.url);
    browser = await launchBrowser();
    const ten = (f: (i: number) => number) => Array.from({ length: 10 }, (_, i) => f(i));
    await run('kb-a', { lr: 0.1, layers: 2 }, { loss: ten((i) => 1 / (i + 1)), acc: ten((i) => i / 10) });
    await run('kb-b', { lr: 0.2, layers: 2 }, { loss: ten((i) => 2 / (i + 1)) });
    await run('kb-c', { lr: 0.1, layers: 3 }, {});
  });

  after(async () => {
    await browser?.close();
    await web?.stop();
    await api?.stop();
  });

  test('the runs table by keyboard: / filters, j/k move, x marks for compare, Enter opens', async () => {
    const ctx = await browser.newContext();
    try {
      await withPage(ctx, 'keyboard', async (page) => {
        await signIn(page, web, api.projectToken);
        await page.goto(`${web.url}/runs?sort=name`);
        // '/' works once the page's scripts have attached the shortcut (hydration, slower under load):
        // pressed until it does, for up to 10 s; a key pressed before that reaches nothing.
        const focused = () => page.evaluate(() => document.activeElement?.getAttribute('name') ?? null);
        for (const t0 = Date.now(); (await focused()) !== 'name' && Date.now() - t0 < 10_000; ) {
          await page.keyboard.press('/');
          if ((await focused()) !== 'name') await page.waitForTimeout(100);
        }
        assert.equal(await focused(), 'name');
        await page.keyboard.type('kb-');
        await Promise.all([page.waitForURL(/name=kb-/), page.keyboard.press('Enter')]);
        await page.waitForFunction(
          () => document.querySelectorAll('[data-testid=runs-table] tbody tr[data-run-id]').length === 3,
        );
        await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
        assert.equal(await selectedRun(page), runs['kb-a']);
        await page.keyboard.press('j');
        assert.equal(await selectedRun(page), runs['kb-b']);
        await page.keyboard.press('ArrowDown');
        await page.keyboard.press('j'); // stays on the last row
        assert.equal(await selectedRun(page), runs['kb-c']);
        await page.keyboard.press('k');
        await page.keyboard.press('ArrowUp');
        assert.equal(await selectedRun(page), runs['kb-a']);
        // x marks the selected row (its checkbox) for comparison; twice unmarks.
        await page.keyboard.press('x');
        await page.keyboard.press('j');
        await page.keyboard.press('x');
        await page.keyboard.press('j');
        await page.keyboard.press('x');
        await page.keyboard.press('x');
        const marked = await page
          .locator('[data-testid=runs-table] tbody input[type=checkbox]')
          .evaluateAll((boxes) => boxes.map((b) => (b as HTMLInputElement).checked));
        assert.deepEqual(marked, [true, true, false]);
        assert.equal(
          await page.getByRole('link', { name: 'Compare 2 runs' }).getAttribute('href'),
          `/compare?runs=${runs['kb-a']},${runs['kb-b']}`,
        );
        await page.keyboard.press('k');
        await Promise.all([
          page.waitForURL(new RegExp(`/runs/${runs['kb-b']}$`)),
          page.keyboard.press('Enter'),
        ]);
      });
    } finally {
      await ctx.close();
    }
  });

  test('compare: one shared chart per metric with each run drawn, and the hyperparameters that differ', async () => {
    const ctx = await browser.newContext();
    try {
      await withPage(ctx, 'compare', async (page) => {
        await signIn(page, web, api.projectToken);
        const ids = [runs['kb-a'], runs['kb-b'], runs['kb-c']];
        await page.goto(`${web.url}/compare?runs=${ids.join(',')}`);
        await page.waitForFunction(() => {
          const c = [...document.querySelectorAll('[data-testid=compare-chart]')];
          return c.length === 2 && c.every((e) => e.getAttribute('data-state') === 'drawn');
        });
        const charts = await page
          .locator('[data-testid=compare-chart]')
          .evaluateAll((cs) => cs.map((c) => [c.getAttribute('data-key'), c.getAttribute('data-points')]));
        // Points per run, in the order of ?runs=: kb-c logged nothing; only kb-a logged acc.
        assert.deepEqual(charts, [
          ['acc', '10,0,0'],
          ['loss', '10,10,0'],
        ]);
        const legend = await page
          .locator('[data-testid=compare-chart][data-key=loss] .u-legend')
          .textContent();
        for (const name of ['kb-a', 'kb-b', 'kb-c']) assert.match(legend ?? '', new RegExp(name));
        const diff = await page
          .locator('[data-testid=hp-diff] tr')
          .evaluateAll((rows) =>
            rows.map((r) => [...r.querySelectorAll('th, td')].map((c) => c.textContent)),
          );
        assert.deepEqual(diff, [
          ['run', 'layers', 'lr'],
          ['kb-a', '2', '0.1'],
          ['kb-b', '2', '0.2'],
          ['kb-c', '3', '0.1'],
        ]);
        // Fewer than two runs: the page says how to pick them.
        await page.goto(`${web.url}/compare?runs=${ids[0]}`);
        assert.match((await page.locator('main').textContent()) ?? '', /Pick two or more runs/);
      });
    } finally {
      await ctx.close();
    }
  });

  test('the theme follows the OS until one is picked, and the pick is remembered', async () => {
    const ctx = await browser.newContext({ colorScheme: 'dark' });
    try {
      await withPage(ctx, 'theme', async (page) => {
        await signIn(page, web, api.projectToken);
        assert.equal(await theme(page), 'dark', 'the OS is dark');
        await page.emulateMedia({ colorScheme: 'light' });
        await page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
        await page.emulateMedia({ colorScheme: 'dark' });
        await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
        // Picked light: kept over the dark OS, after a reload, and in a new page, set before first paint.
        await page.selectOption('select[aria-label=Theme]', 'light');
        assert.equal(await theme(page), 'light');
        await page.reload();
        assert.equal(await theme(page), 'light');
        assert.equal(await page.locator('select[aria-label=Theme]').inputValue(), 'light');
        const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        assert.equal(bg, 'rgb(255, 255, 255)');
        const other = await ctx.newPage();
        await other.goto(`${web.url}/runs`, { waitUntil: 'commit' });
        await other.waitForFunction(() => document.documentElement.dataset.theme !== undefined);
        assert.equal(await theme(other), 'light');
        await other.close();
        // Back to the OS's theme: dark again, and follows it.
        await page.selectOption('select[aria-label=Theme]', 'system');
        assert.equal(await theme(page), 'dark');
        assert.equal(await page.evaluate(() => localStorage.getItem('kiln-theme')), null);
        await page.emulateMedia({ colorScheme: 'light' });
        await page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
      });
    } finally {
      await ctx.close();
    }
  });
});

// The dashboard end to end: Debian's Chromium (playwright-core) against `next start` of the production
// build, the real API and Postgres. Sign-in, the runs table, a run's charts (what was drawn and the
// numbers in the accessible tables), zoom, live points, empty runs, project isolation, one-time links.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
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
let ctx: BrowserContext;
let projectB: { id: string; token: string; runId: string };

const W = 'write';

async function project(name: string) {
  const p = await call(api, api.admin, 'POST', '/projects', { name, namespace: `ns-${name}` });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const t = await call(api, api.admin, 'POST', `/projects/${p.body.id}/tokens`, { name: 't', scope: W });
  return { id: p.body.id as string, token: t.body.token as string };
}

async function run(token: string, projectId: string, body: Record<string, unknown>) {
  const r = await call(api, token, 'POST', `/projects/${projectId}/runs`, body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

async function ingest(runId: string, key: string, steps: number[], values: number[], t0 = Date.now()) {
  const r = await call(api, api.projectToken, 'POST', `/runs/${runId}/metrics`, {
    series: [{ key, steps, values, times: steps.map((s) => t0 + s * 10) }],
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

/** Waits for every chart on the page to have answered its latest query and drawn. */
async function chartsDrawn(page: Page, count: number) {
  await page.waitForFunction(
    (n) => {
      const charts = [...document.querySelectorAll('[data-testid=metric-chart]')];
      return charts.length === n && charts.every((c) => c.getAttribute('data-state') === 'drawn');
    },
    count,
    { timeout: 30_000 },
  );
}

async function tableRows(page: Page, key: string): Promise<string[][]> {
  const chart = page.locator(`[data-testid=metric-chart][data-key="${key}"]`);
  const details = chart.locator('details');
  if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open)))
    await chart.locator('summary').click();
  await chart.locator('[data-testid=chart-table] tbody tr').first().waitFor();
  return chart
    .locator('[data-testid=chart-table] tbody tr')
    .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')));
}

/** Pixels of the plot canvas that differ from its corner (what uPlot drew), to tell drawn from blank. */
async function inkedPixels(page: Page, key: string): Promise<number> {
  return page.locator(`[data-testid=metric-chart][data-key="${key}"] canvas`).evaluate((c) => {
    const canvas = c as HTMLCanvasElement;
    const g = canvas.getContext('2d')!;
    const { data } = g.getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 0) n++;
    return n;
  });
}

/** The x value a chart's legend shows for the cursor (uPlot's live legend: series 0 is x). */
async function legendX(page: Page, key: string): Promise<string> {
  return (
    (await page
      .locator(`[data-testid=metric-chart][data-key="${key}"] .u-legend .u-series`)
      .first()
      .locator('.u-value')
      .textContent()) ?? ''
  );
}

/** Moves the mouse to a fraction of a chart's plot area (its width, at half its height). */
async function hover(page: Page, key: string, fraction: number) {
  const box = (await page.locator(`[data-testid=metric-chart][data-key="${key}"] .u-over`).boundingBox())!;
  await page.mouse.move(box.x + box.width * fraction, box.y + box.height / 2, { steps: 3 });
}

/**
 * Where a chart's cursor line is, as a fraction of its plot's width (the y axes' widths differ between
 * charts), or null while uPlot has it hidden (off the plot).
 */
async function cursorAt(page: Page, key: string): Promise<number | null> {
  return page.locator(`[data-testid=metric-chart][data-key="${key}"] .u-cursor-x`).evaluate((el) => {
    if (el.classList.contains('u-off')) return null;
    const m = /translate\(([-\d.]+)px/.exec((el as HTMLElement).style.transform);
    const over = el.parentElement!.getBoundingClientRect();
    return m ? Number(m[1]) / over.width : null;
  });
}

/**
 * Records the text uPlot draws on each canvas (its tick labels and axis labels live only on the
 * canvas): every fillText since the canvas was last cleared whole, kept on the canvas element.
 */
function recordCanvasText() {
  type Recorded = HTMLCanvasElement & { __texts?: string[] };
  const proto = CanvasRenderingContext2D.prototype;
  const fillText = proto.fillText;
  const clearRect = proto.clearRect;
  proto.clearRect = function (x, y, w, h) {
    const c = this.canvas as Recorded;
    if (x === 0 && y === 0 && w === c.width && h === c.height) c.__texts = [];
    return clearRect.call(this, x, y, w, h);
  };
  proto.fillText = function (text, x, y, maxWidth) {
    const c = this.canvas as Recorded;
    c.__texts ??= [];
    c.__texts.push(String(text));
    return maxWidth === undefined
      ? fillText.call(this, text, x, y)
      : fillText.call(this, text, x, y, maxWidth);
  };
}

/** The texts drawn on a chart's canvas in its latest full draw. */
async function canvasTexts(page: Page, key: string): Promise<string[]> {
  return page
    .locator(`[data-testid=metric-chart][data-key="${key}"] canvas`)
    .evaluate((c) => [...((c as HTMLCanvasElement & { __texts?: string[] }).__texts ?? [])]);
}

const num = (s: string) => Number(s.replaceAll(',', ''));

/** Polls `read` until `ok` holds (30 s at most); returns the value that passed. */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  let v = await read();
  while (!ok(v)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after 30 s`);
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
}

before(async () => {
  api = await serveApi();
  web = await startDashboard(api.url);
  browser = await launchBrowser();
  const b = await project(`b${Date.now()}`);
  const runId = await run(b.token, b.id, { name: 'secret-b-run', hyperparams: { lr: 9 } });
  projectB = { ...b, runId };
});

after(async () => {
  await ctx?.close();
  await browser?.close();
  await web?.stop();
  await api?.stop();
});

describe('sign in', () => {
  test('a wrong token, the admin token and a run token are refused at the field; nothing is kept', async () => {
    const c = await browser.newContext();
    try {
      for (const [token, expect] of [
        ['not-a-real-token-xyz', /unknown, expired or revoked/],
        [api.admin, /admin token cannot sign in/],
        [api.runToken, /run's token cannot sign in/],
        ['short', /expected a project token/],
      ] as const)
        await withPage(c, `signin-refused-${expect.source.slice(0, 10)}`, async (page) => {
          await page.goto(`${web.url}/signin`);
          await page.fill('#token', token);
          await Promise.all([page.waitForURL(/\/signin\?/), page.click('button[type=submit]')]);
          const err = await page.locator('#token-error').textContent();
          assert.match(err ?? '', expect);
          assert.equal(await page.locator('#token').getAttribute('aria-invalid'), 'true');
          assert.deepEqual(await c.cookies(), [], 'no session cookie after a refused sign-in');
          // Without a session every page sends you to sign in.
          await page.goto(`${web.url}/runs`);
          assert.match(page.url(), /\/signin/);
        });
    } finally {
      await c.close();
    }
  });

  test('a project token signs in; the cookie is httpOnly and page scripts never see the token', async () => {
    ctx = await browser.newContext();
    await withPage(ctx, 'signin-ok', async (page) => {
      await signIn(page, web, api.projectToken);
      const cookies = await ctx.cookies();
      const session = cookies.find((c) => c.name === 'kiln_session');
      assert.ok(session, 'session cookie set');
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Strict');
      assert.equal(await page.evaluate(() => document.cookie.includes('kiln')), false);
      const html = await page.content();
      assert.equal(html.includes(api.projectToken), false, 'token not in the page');
      await page.locator('[data-testid=runs-table]').waitFor();
    });
  });
});

describe('runs table', () => {
  before(async () => {
    const statuses = ['running', 'succeeded', 'failed'];
    for (let i = 0; i < 30; i++)
      await run(api.projectToken, api.projectId, {
        name: `grid-${String(i).padStart(2, '0')}-${i % 2 ? 'odd' : 'even'}`,
        status: statuses[i % 3],
        hyperparams: { lr: 0.001 * (i + 1), layers: i % 4 },
      });
  });

  test('filters by status and name and sorts by name, server-side, with the state in the URL', async () => {
    await withPage(ctx, 'runs-filter-sort', async (page) => {
      await page.goto(`${web.url}/runs`);
      // 30 grid runs + the seed run.
      assert.match((await page.locator('[data-testid=runs-total]').textContent()) ?? '', /^31 runs/);
      await page.selectOption('select[name=status]', 'failed');
      await page.waitForURL(/status=failed/);
      await page.waitForFunction(() =>
        document.querySelector('[data-testid=runs-total]')?.textContent?.startsWith('10 runs'),
      );
      const statuses = await page.locator('tbody .status').allTextContents();
      assert.equal(statuses.length, 10);
      assert.ok(
        statuses.every((s) => s === 'failed'),
        statuses.join(','),
      );

      await page.fill('input[name=name]', 'odd');
      await page.press('input[name=name]', 'Enter');
      await page.waitForURL(/name=odd/);
      await page.waitForFunction(() =>
        document.querySelector('[data-testid=runs-total]')?.textContent?.startsWith('5 runs'),
      );
      await page.click('button[data-sort=name]');
      await page.waitForURL(/sort=name/);
      await page.waitForFunction(() => document.querySelector('th[aria-sort=ascending]'));
      const asc = await page.locator('tbody td:nth-child(2)').allTextContents();
      assert.deepEqual(asc, ['grid-05-odd', 'grid-11-odd', 'grid-17-odd', 'grid-23-odd', 'grid-29-odd']);
      await page.click('button[data-sort=name]');
      await page.waitForURL(/sort=-name/);
      await page.waitForFunction(() => document.querySelector('th[aria-sort=descending]'));
      const desc = await page.locator('tbody td:nth-child(2)').allTextContents();
      assert.deepEqual(desc, [...asc].reverse());
      // The URL alone reproduces the view.
      await page.reload();
      assert.deepEqual(await page.locator('tbody td:nth-child(2)').allTextContents(), desc);
    });
  });

  test('filters by hyperparameter conditions and sorts by a hyperparameter column; bad conditions are named', async () => {
    await withPage(ctx, 'runs-conditions', async (page) => {
      await page.goto(`${web.url}/runs?cols=hp.lr,hp.layers`);
      await page.fill('input[name=where]', 'hp.lr>=0.025; hp.layers=1');
      await page.press('input[name=where]', 'Enter');
      await page.waitForURL(/where=/);
      await page.waitForFunction(() =>
        document.querySelector('[data-testid=runs-total]')?.textContent?.startsWith('2 runs'),
      );
      await page.click('button[data-sort="hp.lr"]');
      await page.waitForURL(/sort=hp\.lr/);
      await page.click('button[data-sort="hp.lr"]');
      await page.waitForURL(/sort=-hp\.lr/);
      await page.waitForFunction(() =>
        document.querySelector('th[aria-sort=descending] [data-sort="hp.lr"]'),
      );
      // lr = 0.001 * (i + 1), layers = i % 4: i = 25 and 29 have layers 1 and lr >= 0.025.
      assert.deepEqual(await page.locator('tbody td:nth-child(2)').allTextContents(), [
        'grid-29-odd',
        'grid-25-odd',
      ]);
      assert.deepEqual(await page.locator('tbody td:nth-child(6)').allTextContents(), ['0.03', '0.026']);
      await page.fill('input[name=where]', 'hp.lr>=fast');
      await page.press('input[name=where]', 'Enter');
      await page.waitForFunction(() =>
        /query\.where\[0\]: >= needs a number/.test(
          document.querySelector('[role=alert]')?.textContent ?? '',
        ),
      );
      assert.equal(await page.locator('tbody tr[data-run-id]').count(), 0);
    });
  });

  test('pages through the runs 25 at a time and shows chosen hyperparameter columns', async () => {
    await withPage(ctx, 'runs-pages', async (page) => {
      await page.goto(`${web.url}/runs?size=25&sort=name&cols=hp.lr`);
      assert.equal(await page.locator('tbody tr').count(), 25);
      await page.click('text=Next →');
      await page.waitForURL(/page=2/);
      await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 6);
      const names = await page.locator('tbody td:nth-child(2)').allTextContents();
      assert.deepEqual(names, [
        'grid-25-odd',
        'grid-26-even',
        'grid-27-odd',
        'grid-28-even',
        'grid-29-odd',
        'run-1',
      ]);
      const lr = await page.locator('tbody tr:first-child td:nth-child(6)').textContent();
      assert.equal(lr, '0.026');
    });
  });

  test("project A's token never shows project B's runs", async () => {
    await withPage(ctx, 'isolation', async (page) => {
      await page.goto(`${web.url}/runs?name=secret`);
      assert.match((await page.locator('[data-testid=runs-total]').textContent()) ?? '', /^0 runs/);
      const res = await page.goto(`${web.url}/runs/${projectB.runId}`);
      assert.equal(res?.status(), 404);
      assert.equal((await page.content()).includes('secret-b-run'), false);
      const proxied = await page.evaluate(
        async (id) => (await fetch(`/api/kiln/runs/${id}`)).status,
        projectB.runId,
      );
      assert.equal(proxied, 404);
      const list = await page.evaluate(
        async (id) => (await fetch(`/api/kiln/projects/${id}/runs`)).status,
        projectB.id,
      );
      assert.equal(list, 404);
    });
  });
});

describe('run page', () => {
  let runId: string;
  const spikeStep = 3333;
  before(async () => {
    runId = await run(api.projectToken, api.projectId, {
      name: 'charted',
      status: 'succeeded',
      hyperparams: { lr: 0.01, batch: 64 },
    });
    const steps = Array.from({ length: 5000 }, (_, i) => i);
    await ingest(
      runId,
      'train/loss',
      steps,
      steps.map((s) => (s === spikeStep ? 100 : 2 / (1 + s / 100))),
    );
    await ingest(
      runId,
      'val/acc',
      Array.from({ length: 50 }, (_, i) => i * 100),
      Array.from({ length: 50 }, (_, i) => 0.5 + i / 100),
    );
  });

  test('draws one chart per metric from the API series; the tables hold the numbers drawn, spikes kept', async () => {
    await withPage(ctx, 'run-charts', async (page) => {
      const seriesRequests: string[] = [];
      page.on('request', (r) => {
        if (/\/api\/series\?|\/metrics\/series/.test(r.url())) seriesRequests.push(r.url());
      });
      await page.goto(`${web.url}/runs/${runId}`);
      await chartsDrawn(page, 2);
      // Both charts' series came in one request, the one the page's inline script sent.
      assert.equal(seriesRequests.length, 1, seriesRequests.join('\n'));
      assert.match(
        seriesRequests[0]!,
        /\/api\/series\?run=.*key=train%2Floss.*key=val%2Facc|key=val%2Facc.*key=train%2Floss/,
      );
      const acc = page.locator('[data-testid=metric-chart][data-key="val/acc"]');
      assert.equal(await acc.getAttribute('data-points'), '50');
      assert.equal(await acc.getAttribute('data-downsampled'), '0');
      const accRows = await tableRows(page, 'val/acc');
      assert.equal(accRows.length, 50);
      assert.deepEqual(accRows[0]!.slice(0, 2), ['0', '0.5']);
      assert.deepEqual(accRows[49]!.slice(0, 2), ['4900', '0.99']);

      const loss = page.locator('[data-testid=metric-chart][data-key="train/loss"]');
      assert.equal(await loss.getAttribute('data-total'), '5000');
      assert.equal(await loss.getAttribute('data-downsampled'), '1');
      const drawn = Number(await loss.getAttribute('data-points'));
      assert.ok(drawn > 100 && drawn < 5000, `M4 points drawn: ${drawn}`);
      const lossRows = await tableRows(page, 'train/loss');
      assert.equal(lossRows.length, drawn);
      assert.ok(
        lossRows.some((r) => r[0] === String(spikeStep) && r[1] === '100'),
        'the one-step spike survives downsampling',
      );
      assert.deepEqual(lossRows[0]!.slice(0, 2), ['0', '2']);
      assert.equal(lossRows[lossRows.length - 1]![0], '4999');
      assert.ok((await inkedPixels(page, 'train/loss')) > 500, 'the loss canvas has a line on it');
      assert.match((await page.locator('[data-testid=hyperparams]').textContent()) ?? '', /lr0\.01/);
    });
  });

  test('a drag zooms: every chart re-queries the API for that step range', async () => {
    await withPage(ctx, 'run-zoom', async (page) => {
      await page.goto(`${web.url}/runs/${runId}`);
      await chartsDrawn(page, 2);
      const loss = page.locator('[data-testid=metric-chart][data-key="train/loss"]');
      const before = Number(await loss.getAttribute('data-queries'));
      const over = loss.locator('.u-over');
      const box = (await over.boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
      await page.waitForURL(/from=\d+&to=\d+/);
      const url = new URL(page.url());
      const from = Number(url.searchParams.get('from'));
      const to = Number(url.searchParams.get('to'));
      assert.ok(from > 1500 && to < 2600 && to > from, `zoomed to ${from}-${to}`);
      await page.waitForFunction(
        (n) =>
          Number(
            document
              .querySelector('[data-testid=metric-chart][data-key="train/loss"]')
              ?.getAttribute('data-queries'),
          ) > n,
        before,
      );
      await chartsDrawn(page, 2);
      assert.equal(await loss.getAttribute('data-first-step'), String(from));
      assert.equal(await loss.getAttribute('data-last-step'), String(to));
      // At most ~500 steps in range: the API answers them all (full resolution), not a sample.
      assert.equal(await loss.getAttribute('data-downsampled'), '0');
      assert.equal(Number(await loss.getAttribute('data-points')), to - from + 1);
      await page.click('text=Reset zoom');
      await page.waitForURL((u) => !u.searchParams.has('from'));
    });
  });

  test('x axis, smoothing and log y are view state in the URL', async () => {
    await withPage(ctx, 'run-view-state', async (page) => {
      await page.goto(`${web.url}/runs/${runId}?x=relative&smooth=0.9&logy=1`);
      await chartsDrawn(page, 2);
      assert.equal(await page.locator('label:has-text("x axis") select').inputValue(), 'relative');
      assert.equal(await page.locator('input[type=range]').inputValue(), '0.9');
      assert.ok(await page.locator('text=log y').locator('input').isChecked());
      // The x series is named after the chosen unit in each chart's legend.
      const xLabel = page.locator('[data-key="train/loss"] .u-legend .u-series').first().locator('.u-label');
      assert.equal(await xLabel.textContent(), 'seconds since start');
    });
  });

  test('log x and wall-time x change the axis drawn (tick labels, the value under the cursor), not only the URL', async () => {
    await withPage(ctx, 'run-x-axes', async (page) => {
      await page.addInitScript(recordCanvasText);
      await page.goto(`${web.url}/runs/${runId}`);
      await chartsDrawn(page, 2);
      const key = 'train/loss';
      const chart = page.locator(`[data-testid=metric-chart][data-key="${key}"]`);
      const ticks = () => canvasTexts(page, key);
      /** The x under the cursor at the middle of the plot, as the legend shows it. */
      const middle = async () => {
        await hover(page, key, 0.2);
        await hover(page, key, 0.5);
        return until(
          () => legendX(page, key),
          (v) => v !== '' && v !== '--',
          'legend x at the middle',
        );
      };

      // Linear steps, 0-4,999: ticks in thousands, the middle of the plot about step 2,500.
      const linear = await ticks();
      assert.ok(linear.includes('2,000') && linear.includes('3,000'), `linear ticks: ${linear.join(' | ')}`);
      const linearMid = num(await middle());
      assert.ok(linearMid > 2000 && linearMid < 3000, `middle of linear x: ${linearMid}`);
      const drawnLinear = Number(await chart.getAttribute('data-points'));

      // A click, not check(): the box is controlled by the URL, which the page updates just after the
      // click, so check() can read it back a moment too early.
      const logX = page.locator('label:has-text("log x") input');
      await logX.click();
      await page.waitForURL(/logx=1/);
      await until(
        () => logX.isChecked(),
        (v) => v,
        'log x checked',
      );
      // The axis is rebuilt as log10: decade ticks, and the middle of the plot is the decades' middle.
      const log = await until(ticks, (t) => t.includes('100') && !t.includes('3,000'), 'log x ticks');
      assert.ok(log.includes('10') && log.includes('1,000'), `log ticks: ${log.join(' | ')}`);
      const logMid = num(await middle());
      assert.ok(logMid > 10 && logMid < 1000, `middle of log x: ${logMid}`);
      // Step 0 cannot sit on a log axis: it is left out, and the chart says so.
      assert.equal(Number(await chart.getAttribute('data-points')), drawnLinear - 1);
      assert.match((await chart.textContent()) ?? '', /1 points at or below 0 are not shown on the log axis/);

      await logX.click();
      await page.waitForURL((u) => !u.searchParams.has('logx'));
      await until(
        () => logX.isChecked(),
        (v) => !v,
        'log x unchecked',
      );
      await page.selectOption('label:has-text("x axis") select', 'wall');
      await page.waitForURL((u) => u.searchParams.get('x') === 'wall' && !u.searchParams.has('logx'));
      // Wall time: uPlot's time axis (the points span 50 s, 10 ms apart), ticks as clock seconds.
      const wall = await until(
        ticks,
        (t) => t.filter((s) => /^:\d\d$/.test(s)).length >= 2,
        'wall-time ticks',
      );
      assert.equal(wall.includes('2,000'), false, `wall ticks: ${wall.join(' | ')}`);
      // The cursor's wall time, to the second: two points 20 s apart read differently.
      const when = await middle();
      assert.match(when, /^\d{4}-\d{2}-\d{2} \d{1,2}:\d{2}:\d{2}(am|pm)$/);
      assert.equal(when.slice(0, 4), String(new Date().getFullYear()));
      await hover(page, key, 0.9);
      const later = await until(
        () => legendX(page, key),
        (v) => v !== when,
        'legend x further right',
      );
      assert.match(later, /^\d{4}-\d{2}-\d{2} \d{1,2}:\d{2}:\d{2}(am|pm)$/);
      assert.equal(
        await page
          .locator(`[data-key="${key}"] .u-legend .u-series`)
          .first()
          .locator('.u-label')
          .textContent(),
        'wall time',
      );
    });
  });

  test('the min/max band is drawn around a smoothed downsampled line and gone at full resolution', async () => {
    const banded = await run(api.projectToken, api.projectId, { name: 'banded', status: 'succeeded' });
    // High-frequency noise in [-1, 1): smoothed, the line is nearly flat; each M4 bucket spans the noise.
    const steps = Array.from({ length: 20_000 }, (_, i) => i);
    await ingest(
      banded,
      'noise',
      steps,
      steps.map((s) => ((s * 7919) % 1000) / 500 - 1),
    );
    /** Plot-area pixels at the band's opacity (its fill is the accent at 0x33 alpha; the line is opaque). */
    const bandPixels = (page: Page) =>
      page.locator('[data-testid=metric-chart][data-key="noise"]').evaluate((chart) => {
        const canvas = chart.querySelector('canvas')!;
        const over = chart.querySelector('.u-over')!.getBoundingClientRect();
        const c = canvas.getBoundingClientRect();
        const k = canvas.width / c.width;
        const [x0, y0] = [Math.round((over.left - c.left) * k), Math.round((over.top - c.top) * k)];
        const [w, h] = [Math.round(over.width * k), Math.round(over.height * k)];
        const { data } = canvas.getContext('2d')!.getImageData(x0, y0, w, h);
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! >= 40 && data[i]! <= 80) n++;
        return { band: n, area: w * h };
      });
    await withPage(ctx, 'run-band', async (page) => {
      await page.goto(`${web.url}/runs/${banded}?smooth=0.99`);
      await chartsDrawn(page, 1);
      const chart = page.locator('[data-testid=metric-chart][data-key="noise"]');
      assert.equal(await chart.getAttribute('data-downsampled'), '1');
      const wide = await until(
        () => bandPixels(page),
        (v) => v.band > v.area * 0.3,
        'the band over most of the plot',
      );

      // 1,001 steps: the API answers every point, each its own bucket, so there is no band to draw.
      await page.goto(`${web.url}/runs/${banded}?smooth=0.99&from=0&to=1000`);
      await chartsDrawn(page, 1);
      assert.equal(await chart.getAttribute('data-downsampled'), '0');
      await until(
        () => inkedPixels(page, 'noise'),
        (n) => n > 500,
        'the line drawn',
      );
      const none = await bandPixels(page);
      assert.ok(
        none.band < wide.band / 20,
        `band over ${none.band} of ${none.area} plot pixels at full resolution`,
      );
    });
  });

  test('the cursor is synced across the charts: hovering one puts the others at the same step', async () => {
    const synced = await run(api.projectToken, api.projectId, { name: 'synced', status: 'succeeded' });
    const steps = Array.from({ length: 200 }, (_, i) => i * 5);
    await ingest(
      synced,
      'sync/a',
      steps,
      steps.map((s) => Math.sin(s / 50)),
    );
    await ingest(
      synced,
      'sync/b',
      steps,
      steps.map((s) => s / 1000),
    );
    // A coarser series over the same steps: its cursor goes to its point nearest the hovered step.
    const coarse = steps.filter((s) => s % 20 === 0 || s === 995);
    await ingest(
      synced,
      'sync/c',
      coarse,
      coarse.map((s) => 1 + s),
    );
    await withPage(ctx, 'run-cursor-sync', async (page) => {
      await page.goto(`${web.url}/runs/${synced}`);
      await chartsDrawn(page, 3);
      const keys = ['sync/a', 'sync/b', 'sync/c'];
      for (const k of keys) assert.equal(await cursorAt(page, k), null, `no cursor on ${k} before hovering`);

      const at = async (hovered: string, fraction: number) => {
        await hover(page, hovered, fraction);
        const others = keys.filter((k) => k !== hovered);
        await until(
          () => Promise.all(keys.map((k) => legendX(page, k))),
          (xs) => xs.every((x) => x !== '' && x !== '--') && xs[0] === xs[1],
          `legends following ${hovered}`,
        );
        const x = num(await legendX(page, hovered));
        const where = (await cursorAt(page, hovered))!;
        for (const k of others) {
          const other = num(await legendX(page, k));
          // Same step where the series has it; the nearest point of the coarse one.
          if (k === 'sync/c') assert.ok(Math.abs(other - x) <= 10, `${k} at ${other}, hovered ${x}`);
          else assert.equal(other, x, `${k} follows ${hovered}`);
          const w = await cursorAt(page, k);
          assert.ok(
            w !== null && Math.abs(w - where) < 0.01,
            `${k}'s cursor line at ${w}, hovered at ${where}`,
          );
        }
        return x;
      };
      const first = await at('sync/a', 0.3);
      assert.ok(first > 200 && first < 400, `hovered step ${first}`);
      // The other way round, from another chart, somewhere else.
      const second = await at('sync/b', 0.8);
      assert.ok(second > 700 && second < 900, `hovered step ${second}`);
      assert.equal(num(await legendX(page, 'sync/a')), second);
    });
  });

  test('a live run: new points and its status arrive over server-sent events', async () => {
    const live = await run(api.projectToken, api.projectId, { name: 'live', status: 'running' });
    await ingest(
      live,
      'loss',
      Array.from({ length: 10 }, (_, i) => i),
      Array.from({ length: 10 }, (_, i) => 1 / (i + 1)),
    );
    await withPage(ctx, 'run-live', async (page) => {
      await page.goto(`${web.url}/runs/${live}`);
      await chartsDrawn(page, 1);
      await page.waitForFunction(
        () => document.querySelector('[data-testid=live-state]')?.textContent === '● live',
      );
      await ingest(
        live,
        'loss',
        Array.from({ length: 10 }, (_, i) => i + 10),
        Array.from({ length: 10 }, (_, i) => 1 / (i + 11)),
      );
      await ingest(live, 'lr', [0, 19], [0.1, 0.05]);
      await page.waitForFunction(
        () =>
          document
            .querySelector('[data-testid=metric-chart][data-key="loss"]')
            ?.getAttribute('data-last-step') === '19',
        undefined,
        { timeout: 30_000 },
      );
      await chartsDrawn(page, 2);
      const rows = await tableRows(page, 'loss');
      assert.equal(rows.length, 20);
      assert.deepEqual(rows[19]!.slice(0, 2), ['19', '0.05']);
      const done = await call(api, api.projectToken, 'PATCH', `/runs/${live}`, {
        status: 'succeeded',
        progress: { step: 20, totalSteps: 20 },
      });
      assert.equal(done.status, 200);
      await page.waitForFunction(
        () => document.querySelector('[data-testid=run-status]')?.textContent === 'succeeded',
      );
      await page.waitForFunction(() =>
        /step 20 of 20/.test(document.querySelector('[data-testid=run-progress]')?.textContent ?? ''),
      );
    });
  });

  test('checkpoints (best, last), progress with ETA and the per-worker log tail, kept live', async () => {
    const r = await run(api.projectToken, api.projectId, { name: 'artifacts', status: 'running' });
    const sha = (n: number) => String(n).repeat(64).slice(0, 64);
    const checkpoint = async (step: number, extra: Record<string, unknown>) => {
      const c = await call(api, api.projectToken, 'POST', `/runs/${r}/checkpoints`, {
        step,
        epoch: step / 100,
        path: `s3://ckpt/artifacts/step-${step}.pt`,
        sizeBytes: step * 1024 * 10,
        sha256: sha(step / 100),
        ...extra,
      });
      assert.equal(c.status, 201, JSON.stringify(c.body));
    };
    await checkpoint(100, { metrics: { 'val/loss': 0.5 } });
    await checkpoint(200, { metrics: { 'val/loss': 0.25 }, isBest: true });
    await checkpoint(300, { metrics: { 'val/loss': 0.375, 'val/acc': 0.9 }, isLast: true });
    const logs = async (worker: string, lines: string[]) => {
      const l = await call(api, api.projectToken, 'POST', `/runs/${r}/logs`, { worker, lines });
      assert.equal(l.status, 200, JSON.stringify(l.body));
    };
    await logs('worker-0', ['w0: loading data', 'w0: step 100 loss 0.5']);
    await logs('worker-1', ['w1: loading data']);
    await logs('worker-0', ['w0: step 200 loss 0.25']);
    const progress = await call(api, api.projectToken, 'PATCH', `/runs/${r}`, {
      progress: { step: 300, totalSteps: 1000, etaSeconds: 125 },
    });
    assert.equal(progress.status, 200, JSON.stringify(progress.body));

    await withPage(ctx, 'run-artifacts', async (page) => {
      const logStream = page.waitForResponse((res) => res.url().includes(`/runs/${r}/logs/stream`));
      await page.goto(`${web.url}/runs/${r}`);
      const rows = () =>
        page
          .locator('[data-testid=checkpoints] tbody tr')
          .evaluateAll((trs) =>
            trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')),
          );
      // (Postgres keeps a checkpoint's metrics as jsonb: shorter keys first.)
      assert.deepEqual(await rows(), [
        ['100', '1', 's3://ckpt/artifacts/step-100.pt', '1000.0 KiB', 'val/loss=0.5', ''],
        ['200', '2', 's3://ckpt/artifacts/step-200.pt', '2000.0 KiB', 'val/loss=0.25', 'best'],
        ['300', '3', 's3://ckpt/artifacts/step-300.pt', '3000.0 KiB', 'val/acc=0.9 val/loss=0.375', 'last'],
      ]);
      assert.match(
        (await page.locator('[data-testid=run-progress]').textContent()) ?? '',
        /^step 300 of 1000 · 30\.0% · ETA 2m 5s/,
      );

      // Every worker's lines in the order they were written, each named by its worker.
      const tail = page.locator('[data-testid=log-tail]');
      await page.waitForFunction(() => document.querySelector('[data-testid=log-tail]'));
      assert.equal(
        await tail.textContent(),
        [
          '[worker-0] w0: loading data',
          '[worker-0] w0: step 100 loss 0.5',
          '[worker-1] w1: loading data',
          '[worker-0] w0: step 200 loss 0.25',
        ].join('\n'),
      );
      // One worker's tail alone, without the prefix.
      await page.selectOption('label:has-text("worker") select', 'worker-1');
      assert.equal(await tail.textContent(), 'w1: loading data');

      // Live: a new checkpoint becomes best and last; new lines and a new ETA arrive while the page is open.
      await logStream;
      await checkpoint(400, { metrics: { 'val/loss': 0.125 }, isBest: true, isLast: true });
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid=checkpoints] tbody tr').length === 4,
      );
      assert.deepEqual(
        (await rows()).map((row) => [row[0], row[5]]),
        [
          ['100', ''],
          ['200', ''],
          ['300', ''],
          ['400', 'best last'],
        ],
      );
      await logs('worker-1', ['w1: step 300 loss 0.375', 'w1: saved step-300.pt']);
      await page.waitForFunction(
        () =>
          document.querySelector('[data-testid=log-tail]')?.textContent?.includes('saved step-300') ?? false,
      );
      assert.equal(
        await tail.textContent(),
        ['w1: loading data', 'w1: step 300 loss 0.375', 'w1: saved step-300.pt'].join('\n'),
      );
      await logs('worker-0', ['w0: step 400 loss 0.125']);
      await page.selectOption('label:has-text("worker") select', '');
      await page.waitForFunction(
        () => document.querySelector('[data-testid=log-tail]')?.textContent?.includes('step 400') ?? false,
      );
      assert.equal(
        ((await tail.textContent()) ?? '').split('\n').slice(-3).join('\n'),
        [
          '[worker-1] w1: step 300 loss 0.375',
          '[worker-1] w1: saved step-300.pt',
          '[worker-0] w0: step 400 loss 0.125',
        ].join('\n'),
      );
      await call(api, api.projectToken, 'PATCH', `/runs/${r}`, {
        progress: { step: 400, totalSteps: 1000, etaSeconds: 65 },
      });
      await page.waitForFunction(() =>
        /^step 400 of 1000 · 40\.0% · ETA 1m 5s/.test(
          document.querySelector('[data-testid=run-progress]')?.textContent ?? '',
        ),
      );
    });
  });

  test('a run with no points says why it is empty', async () => {
    const failed = await run(api.projectToken, api.projectId, { name: 'empty', status: 'failed' });
    await call(api, api.projectToken, 'PATCH', `/runs/${failed}`, { exitReason: 'OOMKilled on worker 0' });
    const queued = await run(api.projectToken, api.projectId, { name: 'queued', status: 'queued' });
    await withPage(ctx, 'run-empty', async (page) => {
      await page.goto(`${web.url}/runs/${failed}`);
      assert.match(
        (await page.locator('[data-testid=empty-run]').textContent()) ?? '',
        /failed before logging any metric: OOMKilled on worker 0/,
      );
      await page.goto(`${web.url}/runs/${queued}`);
      assert.match(
        (await page.locator('[data-testid=empty-run]').textContent()) ?? '',
        /queued: it has not started/,
      );
      const res = await page.goto(`${web.url}/runs/not-a-uuid`);
      assert.equal(res?.status(), 404);
    });
  });
});

describe('one-time sign-in links', () => {
  test('a link opens the page it names, signed in, once; bad requests are refused', async () => {
    const make = (token: string | null, body?: unknown) =>
      fetch(`${web.url}/auth/links`, {
        method: 'POST',
        headers: { ...(token && { authorization: `Bearer ${token}` }), 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    assert.equal((await make(null)).status, 401);
    assert.equal((await make(api.admin)).status, 403);
    const bad = await make(api.projectToken, { next: 'https://evil.example/' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /body\.next/);
    const res = await make(api.projectToken, { next: `/runs/${api.runId}` });
    assert.equal(res.status, 201);
    const { url } = (await res.json()) as { url: string };
    const c = await browser.newContext();
    try {
      await withPage(c, 'one-time-link', async (page) => {
        await page.goto(url);
        await page.waitForURL(new RegExp(`/runs/${api.runId}`));
        await page.locator('[data-testid=run-status]').waitFor();
        const again = await browser.newContext();
        try {
          const p2 = await again.newPage();
          await p2.goto(url);
          assert.match(p2.url(), /\/signin\?error=/);
          assert.match((await p2.locator('#token-error').textContent()) ?? '', /already used or has expired/);
        } finally {
          await again.close();
        }
      });
    } finally {
      await c.close();
    }
  });

  test('the API proxy refuses cross-origin writes and requests without a session', async () => {
    const noSession = await fetch(`${web.url}/api/kiln/projects`);
    assert.equal(noSession.status, 401);
    const cookie = (await ctx.cookies()).find((c) => c.name === 'kiln_session')!;
    const cross = await fetch(`${web.url}/api/kiln/projects/${api.projectId}/runs`, {
      method: 'POST',
      headers: {
        cookie: `kiln_session=${cookie.value}`,
        origin: 'https://evil.example',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'csrf' }),
    });
    assert.equal(cross.status, 403);
    const runs = await call(api, api.projectToken, 'GET', `/projects/${api.projectId}/runs?name=csrf`);
    assert.equal(runs.body.total, 0, 'nothing created');
  });
});

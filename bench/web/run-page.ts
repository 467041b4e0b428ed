// The dashboard under load, in headless Chromium (Debian's, through playwright-core), against the real
// API and Postgres and `next start` of the production build:
//   - run page with 20 series x 100,000 points to all charts drawn (goal <= 1.5 s), beside one series;
//   - runs table of a project with 10,000 runs to the table shown (goal <= 1 s), beside one run;
//   - the JavaScript the run page loads, beside the run page of a one-series run and the sign-in page.
// Times are from navigation start (performance.now() in the page) to the condition, median of
// BENCH_REPEAT (5) fresh page loads each, the two pages alternated. Load (1-minute load average) printed at
// start and end. BENCH_SERIES / BENCH_POINTS / BENCH_RUNS shrink the data set for a quick look.
// Usage: node --conditions=kiln-src --import @swc-node/register/esm-register bench/web/run-page.ts
import { loadavg } from 'node:os';
import pg from 'pg';
import type { Page } from 'playwright-core';
import {
  call,
  launchBrowser,
  serveApi,
  signIn,
  startDashboard,
} from '../../apps/web/test/support/platform.js';
import { median } from '../support/stats.js';

const SERIES = Number(process.env.BENCH_SERIES ?? 20);
const POINTS = Number(process.env.BENCH_POINTS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 10_000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);

const load = () => loadavg()[0]!.toFixed(1);

console.log(`load at start: ${load()} (1-min average, ${SERIES} series x ${POINTS} points, ${RUNS} runs)`);
const api = await serveApi();
const web = await startDashboard(api.url);
const browser = await launchBrowser();
try {
  // Seed: one run with SERIES series, one with a single series, through the API's ingest (100k per batch).
  const mkRun = async (name: string, projectId = api.projectId, token = api.projectToken) => {
    const r = await call(api, token, 'POST', `/projects/${projectId}/runs`, { name, status: 'succeeded' });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    return r.body.id as string;
  };
  const fill = async (runId: string, series: number) => {
    const t0 = Date.now() - POINTS * 100;
    for (let s = 0; s < series; s++)
      for (let from = 0; from < POINTS; from += 100_000) {
        const n = Math.min(100_000, POINTS - from);
        const steps = Array.from({ length: n }, (_, i) => from + i);
        const values = steps.map(
          (x) => Math.exp(-x / POINTS) + 0.05 * Math.sin(x / 7 + s) + (x % 9973 === 0 ? 1 : 0),
        );
        const r = await call(api, api.projectToken, 'POST', `/runs/${runId}/metrics`, {
          series: [
            {
              key: `metric/${String(s).padStart(2, '0')}`,
              steps,
              values,
              times: steps.map((x) => t0 + x * 100),
            },
          ],
        });
        if (r.status !== 200) throw new Error(JSON.stringify(r.body));
      }
  };
  const seedStart = Date.now();
  const many = await mkRun('many-series');
  const one = await mkRun('one-series');
  await fill(many, SERIES);
  await fill(one, 1);
  // 10,000 runs straight into Postgres (the API would take minutes); one project with one run beside it.
  const db = new pg.Client({ connectionString: api.databaseUrl });
  await db.connect();
  await db.query(
    `INSERT INTO runs (project_id, name, status, hyperparams, last_metrics, step, total_steps, updated_at)
     SELECT $1, 'run-' || lpad(i::text, 5, '0'), (ARRAY['running','succeeded','failed'])[1 + i % 3]::run_status,
            jsonb_build_object('lr', i * 0.0001, 'layers', i % 8), jsonb_build_object('loss', 1.0 / (i + 1)),
            i, 10000, now()
     FROM generate_series(1, $2) i`,
    [api.projectId, RUNS],
  );
  await db.end();
  const small = await call(api, api.admin, 'POST', '/projects', {
    name: `small${Date.now()}`,
    namespace: 'small',
  });
  const smallToken = (
    await call(api, api.admin, 'POST', `/projects/${small.body.id}/tokens`, { name: 'b', scope: 'read' })
  ).body.token as string;
  await mkRun(
    'only-run',
    small.body.id,
    (await call(api, api.admin, 'POST', `/projects/${small.body.id}/tokens`, { name: 'w', scope: 'write' }))
      .body.token,
  );
  console.log(`seeded in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);

  // The API alone, no browser: one series as a chart asks for it (M4, 2,400 points), and all SERIES of
  // the run at once as the run page asks for them. The run page cannot draw before the latter answers.
  const seriesMs = async (keys: string[]) => {
    const t = performance.now();
    await Promise.all(
      keys.map(async (key) => {
        const r = await call(
          api,
          api.projectToken,
          'GET',
          `/runs/${many}/metrics/series?key=${encodeURIComponent(key)}&maxPoints=2400`,
        );
        if (r.status !== 200) throw new Error(JSON.stringify(r.body));
      }),
    );
    return performance.now() - t;
  };
  const allKeys = Array.from({ length: SERIES }, (_, s) => `metric/${String(s).padStart(2, '0')}`);
  // The batch read the dashboard uses: every key in one request.
  const batchMs = async (keys: string[]) => {
    const t = performance.now();
    const q = keys.map((k) => `key=${encodeURIComponent(k)}`).join('&');
    const r = await call(
      api,
      api.projectToken,
      'GET',
      `/runs/${many}/metrics/series/batch?${q}&maxPoints=2400`,
    );
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    return performance.now() - t;
  };
  const apiOne: number[] = [];
  const apiAll: number[] = [];
  const batchOne: number[] = [];
  const batchAll: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    apiOne.push(await seriesMs([allKeys[0]!]));
    apiAll.push(await seriesMs(allKeys));
    batchOne.push(await batchMs([allKeys[0]!]));
    batchAll.push(await batchMs(allKeys));
  }

  const bigCtx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const smallCtx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const p0 = await bigCtx.newPage();
  await signIn(p0, web, api.projectToken);
  await p0.close();
  const p1 = await smallCtx.newPage();
  await signIn(p1, web, smallToken);
  await p1.close();

  /** ms from navigation start until `cond` holds in the page (checked every animation frame). */
  const timeTo = async (ctx: typeof bigCtx, url: string, cond: string) => {
    const page: Page = await ctx.newPage();
    const js: number[] = [];
    page.on('response', async (r) => {
      if (r.request().resourceType() === 'script')
        js.push((await r.body().catch(() => Buffer.alloc(0))).length);
    });
    await page.goto(url, { waitUntil: 'commit' });
    const ms = await page.evaluate(
      (c) =>
        new Promise<number>((resolve) => {
          const check = () =>
            new Function(`return (${c})`)() ? resolve(performance.now()) : requestAnimationFrame(check);
          check();
        }),
      cond,
    );
    // Where the time went: the document's response, scripts run, the series requests (first start,
    // last end, their median duration), from the browser's own timings.
    const phases = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const series = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter((r) =>
        /\/metrics\/series|\/api\/series\?/.test(r.name),
      );
      const d = series.map((r) => r.responseEnd - r.startTime).sort((a, b) => a - b);
      const marks = performance.getEntriesByName('kiln-series') as PerformanceMark[];
      const apiMs = marks.map((m) => (m.detail as { apiMs: number | null }).apiMs ?? 0).sort((a, b) => a - b);
      return {
        html: nav.responseEnd,
        firstAnswer: marks.length ? Math.min(...marks.map((m) => m.startTime)) : 0,
        lastAnswer: marks.length ? Math.max(...marks.map((m) => m.startTime)) : 0,
        apiMsMedian: apiMs.length ? apiMs[Math.floor(apiMs.length / 2)]! : 0,
        apiMsMax: apiMs.length ? apiMs[apiMs.length - 1]! : 0,
        domContentLoaded: nav.domContentLoadedEventEnd,
        seriesFirstStart: series.length ? Math.min(...series.map((r) => r.startTime)) : 0,
        seriesLastEnd: series.length ? Math.max(...series.map((r) => r.responseEnd)) : 0,
        seriesMedian: d.length ? d[Math.floor(d.length / 2)]! : 0,
        seriesRequests: series.length,
      };
    });
    await page.waitForLoadState('networkidle').catch(() => {});
    await page.close();
    return { ms, phases, jsBytes: js.reduce((a, b) => a + b, 0), scripts: js.length };
  };
  const chartsDrawn = (n: number) =>
    `(() => { const c = [...document.querySelectorAll('[data-testid=metric-chart]')]; return c.length === ${n} && c.every((e) => e.getAttribute('data-state') === 'drawn' && Number(e.getAttribute('data-draws')) > 1); })()`;
  const tableShown = `document.querySelectorAll('[data-testid=runs-table] tbody tr[data-run-id]').length > 0`;

  const rows: [string, number[], number[]][] = [
    ['run page, all charts drawn', [], []],
    ['runs table shown (50 per page)', [], []],
  ];
  let runJs = { jsBytes: 0, scripts: 0 };
  let oneJs = { jsBytes: 0, scripts: 0 };
  const phases: Record<string, number[]> = {};
  for (let i = 0; i < REPEAT; i++) {
    const a = await timeTo(bigCtx, `${web.url}/runs/${many}`, chartsDrawn(SERIES));
    const b = await timeTo(bigCtx, `${web.url}/runs/${one}`, chartsDrawn(1));
    runJs = a;
    oneJs = b;
    for (const [k, v] of Object.entries(a.phases)) phases[k] = [...(phases[k] ?? []), v];
    rows[0]![1].push(a.ms);
    rows[0]![2].push(b.ms);
    rows[1]![1].push((await timeTo(bigCtx, `${web.url}/runs`, tableShown)).ms);
    rows[1]![2].push((await timeTo(smallCtx, `${web.url}/runs`, tableShown)).ms);
  }
  const signin = await timeTo(
    await browser.newContext(),
    `${web.url}/signin`,
    `!!document.querySelector('#token')`,
  );

  console.log(`\n| page | load | median | baseline (same page) | median | ratio |`);
  console.log('|---|---|---|---|---|---|');
  const f = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
  const [r0, r1] = rows;
  console.log(
    `| ${r0![0]} | ${SERIES} x ${POINTS} points | ${f(median(r0![1]))} | 1 x ${POINTS} points | ${f(median(r0![2]))} | ${(median(r0![1]) / median(r0![2])).toFixed(2)}x |`,
  );
  console.log(
    `| ${r1![0]} | ${RUNS + 3} runs | ${f(median(r1![1]))} | 1 run | ${f(median(r1![2]))} | ${(median(r1![1]) / median(r1![2])).toFixed(2)}x |`,
  );
  const kib = (x: { jsBytes: number; scripts: number }) =>
    `${(x.jsBytes / 1024).toFixed(0)} KiB in ${x.scripts} files`;
  console.log(
    `| JavaScript loaded | run page, ${SERIES} series: ${kib(runJs)} | | run page, 1 series: ${kib(oneJs)} | | ${(runJs.jsBytes / oneJs.jsBytes).toFixed(2)}x |`,
  );
  console.log(
    `| JavaScript loaded | run page: ${kib(runJs)} | | sign-in page: ${kib(signin)} | | ${(runJs.jsBytes / signin.jsBytes).toFixed(2)}x |`,
  );
  console.log(
    `\nall samples (ms): ${JSON.stringify(rows.map(([n, a, b]) => ({ n, a: a.map(Math.round), b: b.map(Math.round) })))}`,
  );
  console.log(
    `| API alone: series requests | ${SERIES} at once | ${f(median(apiAll))} | 1 | ${f(median(apiOne))} | ${(median(apiAll) / median(apiOne)).toFixed(2)}x |`,
  );
  console.log(
    `| API alone: one batch request | ${SERIES} keys | ${f(median(batchAll))} | 1 key | ${f(median(batchOne))} | ${(median(batchAll) / median(batchOne)).toFixed(2)}x |`,
  );
  console.log(
    `run page (${SERIES} series) phases, medians in ms from navigation start: ${Object.entries(phases)
      .map(([k, v]) => `${k} ${Math.round(median(v))}`)
      .join(', ')}`,
  );
  console.log(`goals: run page <= 1.5 s, runs table <= 1 s (figures, not assertions)`);
} finally {
  console.log(`load at end: ${load()}`);
  await browser.close();
  await web.stop();
  await api.stop();
}

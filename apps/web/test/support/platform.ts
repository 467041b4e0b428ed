// What the dashboard tests run against, all real: the API in its own process on a fresh Postgres
// database (apps/api/test/support/serve.ts), the dashboard's production build under `next start`, and
// Debian's Chromium driven by playwright-core. Failing steps leave a screenshot in test-results/.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '@kiln/local-cluster';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const repoRoot = fileURLToPath(new URL('../../../..', import.meta.url));
const webDir = join(repoRoot, 'apps/web');
export const artifacts = join(webDir, 'test-results');

export interface ServedApi {
  url: string;
  databaseUrl: string;
  admin: string;
  projectId: string;
  projectToken: string;
  runId: string;
  runToken: string;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess) {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
}

export async function serveApi(env: Record<string, string> = {}): Promise<ServedApi> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=kiln-src',
      '--import',
      '@swc-node/register/esm-register',
      'apps/api/test/support/serve.ts',
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`API process exited with ${code} before it was ready`)));
  });
  return { ...JSON.parse(first), stop: stopper(child) };
}

export interface Dashboard {
  url: string;
  stop(): Promise<void>;
}

/** Builds the dashboard if its sources changed (shared by every test file), then `next start`s it. */
export async function startDashboard(apiUrl: string): Promise<Dashboard> {
  const { ensureBuild } = (await import(join(webDir, 'scripts/build.mjs'))) as {
    ensureBuild(): boolean;
  };
  ensureBuild();
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'node_modules/next/dist/bin/next'), 'start', '-p', String(port), '-H', '127.0.0.1'],
    {
      cwd: webDir,
      env: { ...process.env, NODE_OPTIONS: '', KILN_API_URL: apiUrl, NEXT_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const out = createInterface({ input: child.stdout! });
  const log: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`next start not ready in 60 s:\n${log.join('\n')}`)),
      60_000,
    );
    out.on('line', (l) => {
      log.push(l);
      if (/Ready in|started server/i.test(l)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`next start exited with ${code}:\n${log.join('\n')}`));
    });
  });
  return { url, stop: stopper(child) };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.KILN_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** Runs `fn` with a fresh page; on failure saves a screenshot named after the step, then rethrows. */
export async function withPage<T>(
  ctx: BrowserContext,
  name: string,
  fn: (page: Page) => Promise<T>,
): Promise<T> {
  const page = await ctx.newPage();
  // Generous: the machine these run on is shared and often loaded; waits are event-driven anyway.
  page.setDefaultTimeout(60_000);
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
  try {
    return await fn(page);
  } catch (e) {
    mkdirSync(artifacts, { recursive: true });
    const file = join(artifacts, `${name.replace(/[^\w-]+/g, '_')}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    console.error(`screenshot: ${file}\nurl: ${page.url()}\nbrowser console:\n${consoleLines.join('\n')}`);
    // What the page showed goes into the error itself: a CI report may keep only the failure's message.
    const text = await page
      .evaluate(() => document.body?.innerText ?? '')
      .catch((err: Error) => `(unreadable: ${err.message})`);
    if (e instanceof Error) {
      e.message += `\n--- ${page.url()} showed ---\n${text.replace(/\n{2,}/g, '\n').slice(0, 3000)}`;
    }
    throw e;
  } finally {
    await page.close().catch(() => {});
  }
}

/** JSON call to the API with a bearer token. */
export async function call(
  api: { url: string },
  token: string,
  method: string,
  path: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers.
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${api.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

export async function signIn(page: Page, dashboard: Dashboard, token: string): Promise<void> {
  await page.goto(`${dashboard.url}/signin`);
  await page.fill('#token', token);
  await Promise.all([page.waitForURL(/\/runs/), page.click('button[type=submit]')]);
}

// The README's first command, past its install step (scripts/setup.sh is what CI itself ran first, and it
// reinstalls node_modules, which tests running beside this one use): `scripts/platform.sh up`, then the
// quickstart's main job, a digits run trained by `kiln fit --track`, recorded by the API in Postgres, and
// the one-time sign-in link it prints, which opens that run's page in the dashboard, signed in.
// Its own state, ports and database, so a developer's own platform is left alone.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { OwnPlatform, repoRoot } from './support/own-platform.js';

const run = promisify(execFile);
let p: OwnPlatform;

before(async () => {
  p = await OwnPlatform.create('quickstart');
});
after(() => p.close());

test('the quickstart trains a run recorded by the platform and prints a link that opens it, signed in', async () => {
  await p.platform('up');
  const qs = await run(
    process.execPath,
    [
      '--conditions=kiln-src',
      '--import',
      '@swc-node/register/esm-register',
      'scripts/quickstart.ts',
      '--max-epochs',
      '1',
      '--no-enable-progress-bar',
    ],
    { cwd: repoRoot, env: p.env, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const out = qs.stdout;
  const recorded =
    /\[quickstart\] run ([0-9a-f-]{36}) "([^"]+)": (\w+), recorded in Postgres by the API/.exec(out);
  assert.ok(recorded, out);
  const [, runId, runName, status] = recorded;
  assert.equal(status, 'succeeded', out);
  assert.match(out, /\[quickstart\]\s+train\/loss\s+\d+ points, last \d/, out);
  const url = /^\s+(http:\/\/127\.0\.0\.1:\d+\/\S+)$/m.exec(out)?.[1] ?? '';
  assert.ok(url.startsWith(`http://127.0.0.1:${p.env.KILN_WEB_PORT}/`), out);

  // The link signs in (an httpOnly cookie) and leads to the run's page, once.
  const first = await fetch(url, { redirect: 'manual' });
  assert.ok([302, 303, 307].includes(first.status), `link answered ${first.status}`);
  assert.equal(new URL(first.headers.get('location')!, url).pathname, `/runs/${runId}`);
  const cookie = first.headers.get('set-cookie') ?? '';
  assert.match(cookie, /HttpOnly/i);
  const page = await fetch(new URL(`/runs/${runId}`, url), {
    headers: { cookie: cookie.split(';')[0]! },
  });
  assert.equal(page.status, 200);
  assert.ok((await page.text()).includes(runName!), `the run page names ${runName}`);
  const again = await fetch(url, { redirect: 'manual' });
  assert.ok(!/HttpOnly/i.test(again.headers.get('set-cookie') ?? ''), 'a spent link signs nobody in');
});

// Issue 14, item 1: no request the API accepts may stall its event loop. The API runs in its own process
// (test/support/serve.ts); its event-loop delay comes from its own Prometheus endpoint (prom-client's
// monitor, reset at each scrape), read before and after the largest log batch and the largest metric
// batches it accepts (rows and columns) are sent and processed.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';

let child: ChildProcess;
let api: { url: string; admin: string; runId: string; runToken: string };

before(async () => {
  child = spawn(
    process.execPath,
    [
      '--conditions=kiln-src',
      '--import',
      '@swc-node/register/esm-register',
      'apps/api/test/support/serve.ts',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PORT: '0' } },
  );
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  api = JSON.parse(line);
});
after(async () => {
  child.kill('SIGTERM');
  if (child.exitCode === null) await once(child, 'exit');
});

async function loopDelay(): Promise<{ p99: number; max: number }> {
  const text = await (
    await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${api.admin}` } })
  ).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]) * 1000;
  return { p99: read('nodejs_eventloop_lag_p99_seconds'), max: read('nodejs_eventloop_lag_max_seconds') };
}

async function post(path: string, body: string): Promise<number> {
  const r = await fetch(api.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.runToken}`, 'content-type': 'application/json' },
    body,
  });
  await r.arrayBuffer();
  return r.status;
}

test('the largest accepted log and metric batches are processed; event-loop delay printed against an idle baseline', async () => {
  // Built before measuring: the client's own work is not the server's.
  const line = 'x'.repeat(4096);
  const logs = JSON.stringify({ worker: 'w0', lines: Array.from({ length: 1000 }, () => line) });
  const rows = (from: number) =>
    JSON.stringify({
      points: Array.from({ length: 100_000 }, (_, i) => ({
        key: `k${i % 100}`,
        step: from + i,
        value: Math.sin(i),
      })),
    });
  const columns = (from: number) =>
    JSON.stringify({
      series: Array.from({ length: 10 }, (_, k) => ({
        key: `c${k}`,
        steps: Array.from({ length: 10_000 }, (_, i) => from + i),
        values: Array.from({ length: 10_000 }, (_, i) => Math.cos(i)),
      })),
    });
  const bodies = [rows(0), rows(100_000), columns(0), columns(10_000)];
  // Baseline in the same run: the server answering small requests for a while. On a loaded machine the
  // operating system's scheduling alone delays the loop; that part is not the requests' doing.
  await loopDelay(); // resets the server's monitor
  const until = performance.now() + 2000;
  while (performance.now() < until) await (await fetch(`${api.url}/healthz`)).arrayBuffer();
  const baseline = await loopDelay();
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) {
    statuses.push(await post(`/api/v1/runs/${api.runId}/logs`, logs));
    if (process.env.STALL_DEBUG) console.log('logs', await loopDelay());
  }
  for (const b of bodies) {
    statuses.push(await post(`/api/v1/runs/${api.runId}/metrics`, b));
    if (process.env.STALL_DEBUG) console.log('metrics', await loopDelay());
  }
  const delay = await loopDelay();
  console.log(
    `event-loop delay while 3 log batches (1,000 × 4,096 chars, ${(logs.length / 1e6).toFixed(1)} MB) and ` +
      `4 metric batches of 100,000 points were processed: p99 ${delay.p99.toFixed(1)} ms, max ${delay.max.toFixed(1)} ms; ` +
      `baseline (small requests only): p99 ${baseline.p99.toFixed(1)} ms, max ${baseline.max.toFixed(1)} ms`,
  );
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200]);
  // The figures are printed, not asserted: on a 2-core machine shared with other test runs the
  // operating system's scheduling alone moves them by more than the 50 ms goal (repo standard: no timing
  // assertions in tests; measured at load 7: p99 35 ms above the idle baseline; at load 16 single pauses
  // of ~1 s, the JSON parse and schema check of a 100,000-point body slowed by the load). The stall's
  // cause, oversized NOTIFY payloads, is asserted without timing in hardening.test.ts (item 1).
});

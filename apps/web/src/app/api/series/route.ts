// Many series of one run in one request: the run page's charts ask together instead of one request
// each (a browser opens at most six connections to a host over HTTP/1.1, and the run's event streams hold
// two, so twenty charts queued behind each other). The API answers them all from one batch read
// (/metrics/series/batch: one auth, one run lookup, the series read side by side on its pool); each is
// passed on as one NDJSON line, the protocol the charts' batcher reads.
import type { NextRequest } from 'next/server';
import { apiUrl, SESSION_COOKIE } from '@/lib/config';
import { rawFetch } from '@/lib/raw-fetch';
import { MAX_BATCH_KEYS } from '@/lib/series-limits';

export const dynamic = 'force-dynamic';

const json = (status: number, message: string) => Response.json({ statusCode: status, message }, { status });

export async function GET(req: NextRequest) {
  const token = req.cookies.get(SESSION_COOKIE)?.value;
  if (!token) return json(401, 'not signed in');
  const q = req.nextUrl.searchParams;
  const run = q.get('run') ?? '';
  const keys = q.getAll('key');
  if (!/^[0-9a-f-]{36}$/i.test(run))
    return json(400, `query.run: expected a run id, got ${JSON.stringify(run)}`);
  if (keys.length === 0 || keys.length > MAX_BATCH_KEYS)
    return json(400, `query.key: expected 1 to ${MAX_BATCH_KEYS} keys, got ${keys.length}`);
  const common = new URLSearchParams();
  for (const name of ['maxPoints', 'fromStep', 'toStep']) {
    const v = q.get(name);
    if (v !== null) common.set(name, v);
  }
  const p = new URLSearchParams(common);
  for (const key of keys) p.append('key', key);
  const started = performance.now();
  const lines: string[] = [];
  try {
    const res = await rawFetch(`${apiUrl()}/api/v1/runs/${run}/metrics/series/batch?${p}`, {
      headers: { authorization: `Bearer ${token}` },
      cache: 'no-store',
      signal: req.signal,
    });
    const body = (await res.json().catch(() => null)) as { series?: { key: string }[] } | null;
    // How long the API took, as this server saw it: bench/web reads it from the charts' marks.
    const ms = Math.round(performance.now() - started);
    if (res.status === 200 && Array.isArray(body?.series))
      for (const one of body.series) lines.push(JSON.stringify({ key: one.key, status: 200, ms, body: one }));
    else
      for (const key of keys)
        lines.push(JSON.stringify({ key, status: res.status === 200 ? 502 : res.status, ms, body }));
  } catch (e) {
    const body = { message: `the API did not answer: ${(e as Error).message}` };
    for (const key of keys) lines.push(JSON.stringify({ key, status: 502, body }));
  }
  return new Response(lines.map((l) => `${l}\n`).join(''), {
    headers: { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' },
  });
}

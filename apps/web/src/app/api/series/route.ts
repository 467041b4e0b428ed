// Many series of one run in one request: the run page's charts ask together instead of one request
// each (a browser opens at most six connections to a host over HTTP/1.1, and the run's event streams hold
// two, so twenty charts queued behind each other). The API answers them all from one batch read
// (/metrics/series/batch: one auth, one run lookup, the series read side by side on its pool), and its
// answer is passed through as it comes, unparsed: this server only adds the session's token and says,
// in a Server-Timing header, how long the API took to answer.
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
  const p = new URLSearchParams();
  for (const name of ['maxPoints', 'fromStep', 'toStep']) {
    const v = q.get(name);
    if (v !== null) p.set(name, v);
  }
  for (const key of keys) p.append('key', key);
  const started = performance.now();
  try {
    const res = await rawFetch(`${apiUrl()}/api/v1/runs/${run}/metrics/series/batch?${p}`, {
      headers: { authorization: `Bearer ${token}` },
      cache: 'no-store',
      signal: req.signal,
    });
    return new Response(res.body, {
      status: res.status,
      headers: {
        'content-type': res.headers.get('content-type') ?? 'application/json',
        'cache-control': 'no-store',
        'server-timing': `api;dur=${Math.round(performance.now() - started)}`,
      },
    });
  } catch (e) {
    return json(502, `the API did not answer: ${(e as Error).message}`);
  }
}

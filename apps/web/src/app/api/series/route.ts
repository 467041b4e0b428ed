// Many series of one run in one request: the run page's charts ask together instead of one request
// each (a browser opens at most six connections to a host over HTTP/1.1, and the run's event streams hold
// two, so twenty charts queued behind each other). The API is asked for every key at once from here;
// each answer is written as one NDJSON line as soon as it arrives, so charts draw as their data comes.
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
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      await Promise.all(
        keys.map(async (key) => {
          const p = new URLSearchParams(common);
          p.set('key', key);
          const started = performance.now();
          let line: unknown;
          try {
            const res = await rawFetch(`${apiUrl()}/api/v1/runs/${run}/metrics/series?${p}`, {
              headers: { authorization: `Bearer ${token}` },
              cache: 'no-store',
              signal: req.signal,
            });
            const text = await res.text();
            line = `{"key":${JSON.stringify(key)},"status":${res.status},"ms":${Math.round(performance.now() - started)},"body":${text || 'null'}}`;
          } catch (e) {
            if (req.signal.aborted) return;
            line = JSON.stringify({
              key,
              status: 502,
              body: { message: `the API did not answer: ${(e as Error).message}` },
            });
          }
          controller.enqueue(enc.encode(`${line}\n`));
        }),
      ).catch(() => {});
      try {
        controller.close();
      } catch {}
    },
  });
  return new Response(stream, {
    headers: {
      'content-type': 'application/x-ndjson',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    },
  });
}

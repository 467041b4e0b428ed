// The browser's way to the API: the request goes out with the session cookie's token as a bearer token,
// so page scripts never hold a token. Responses (JSON and server-sent event streams) pass through as
// they come. Requests that change state must come from this origin (the cookie is SameSite=Strict too).
import { type NextRequest, NextResponse } from 'next/server';
import { apiUrl, SESSION_COOKIE } from '@/lib/config';
import { rawFetch } from '@/lib/raw-fetch';
import { requestOrigin } from '@/lib/redirect';

export const dynamic = 'force-dynamic';

async function forward(req: NextRequest, ctx: { params: Promise<{ path: string[] }> }) {
  const token = req.cookies.get(SESSION_COOKIE)?.value;
  if (!token) return NextResponse.json({ statusCode: 401, message: 'not signed in' }, { status: 401 });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const origin = req.headers.get('origin');
    if (origin && origin !== requestOrigin(req))
      return NextResponse.json({ statusCode: 403, message: 'cross-origin request refused' }, { status: 403 });
  }
  const { path } = await ctx.params;
  const target = `${apiUrl()}/api/v1/${path.map(encodeURIComponent).join('/')}${req.nextUrl.search}`;
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  const type = req.headers.get('content-type');
  if (type) headers['content-type'] = type;
  const accept = req.headers.get('accept');
  if (accept) headers.accept = accept;
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await req.arrayBuffer();
  const upstream = await rawFetch(target, {
    method: req.method,
    headers,
    body,
    cache: 'no-store',
    signal: req.signal,
  });
  const out = new Headers();
  for (const h of ['content-type', 'cache-control', 'retry-after']) {
    const v = upstream.headers.get(h);
    if (v) out.set(h, v);
  }
  if (out.get('content-type')?.startsWith('text/event-stream')) out.set('x-accel-buffering', 'no');
  return new Response(upstream.body, { status: upstream.status, headers: out });
}

export const GET = forward;
export const POST = forward;
export const PATCH = forward;
export const DELETE = forward;

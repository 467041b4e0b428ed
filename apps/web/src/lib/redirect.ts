// A 303 to a path on this dashboard, with a relative Location: `next start` reports its own origin as
// localhost whatever host the browser used, and a redirect to another host would lose the cookie.
import { NextResponse } from 'next/server';

export function redirectTo(path: string, params?: Record<string, string>): NextResponse {
  const q = params ? `?${new URLSearchParams(params)}` : '';
  return new NextResponse(null, { status: 303, headers: { location: `${path}${q}` } });
}

/** This dashboard's origin as the client addressed it (Host header), for absolute links. */
export function requestOrigin(req: Request): string {
  const host = req.headers.get('x-forwarded-host') ?? req.headers.get('host') ?? 'localhost';
  const proto = req.headers.get('x-forwarded-proto') ?? 'http';
  return `${proto}://${host}`;
}

// POST with `Authorization: Bearer <project token>` and optional JSON {next: "/runs/<id>"}: answers a
// one-time sign-in URL. The quickstart calls it to print a link that opens the run it trained.
import { type NextRequest, NextResponse } from 'next/server';
import { createLink } from '@/lib/one-time-links';
import { requestOrigin } from '@/lib/redirect';
import { safeNext } from '@/lib/session-cookie';
import { verifyProjectToken } from '@/lib/verify-token';

export async function POST(req: NextRequest) {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.get('authorization') ?? '');
  if (!m)
    return NextResponse.json(
      {
        message: 'Authorization: expected "Bearer <project token>"',
        errors: [{ path: 'headers.authorization', message: 'expected "Bearer <project token>"' }],
      },
      { status: 401 },
    );
  let body: { next?: unknown } = {};
  const text = await req.text();
  if (text) {
    try {
      body = JSON.parse(text) as { next?: unknown };
    } catch {
      return NextResponse.json(
        { message: 'body: expected JSON', errors: [{ path: 'body', message: 'expected JSON' }] },
        { status: 400 },
      );
    }
  }
  if (body.next !== undefined && (typeof body.next !== 'string' || safeNext(body.next) !== body.next))
    return NextResponse.json(
      {
        message: 'body.next: expected a path inside the dashboard, e.g. "/runs/<id>"',
        errors: [{ path: 'body.next', message: 'expected a path inside the dashboard, e.g. "/runs/<id>"' }],
      },
      { status: 400 },
    );
  const check = await verifyProjectToken(m[1]!);
  if (!check.ok) return NextResponse.json({ message: check.message }, { status: check.status });
  const { code, expiresAt } = createLink(m[1]!, (body.next as string | undefined) ?? '/runs');
  const origin = process.env.KILN_WEB_URL?.replace(/\/+$/, '') ?? requestOrigin(req);
  return NextResponse.json({ url: `${origin}/auth/link/${code}`, expiresAt }, { status: 201 });
}

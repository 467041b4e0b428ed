// POST from the sign-in form: checks the token with the API, then keeps it in the httpOnly cookie.
import { type NextRequest, NextResponse } from 'next/server';
import { safeNext, setSession } from '@/lib/session-cookie';
import { verifyProjectToken } from '@/lib/verify-token';

export async function POST(req: NextRequest) {
  const form = await req.formData();
  const token = String(form.get('token') ?? '').trim();
  const next = safeNext(String(form.get('next') ?? ''));
  const result = await verifyProjectToken(token);
  if (!result.ok) {
    const url = new URL('/signin', req.url);
    url.searchParams.set('error', result.message);
    if (next !== '/runs') url.searchParams.set('next', next);
    return NextResponse.redirect(url, 303);
  }
  const res = NextResponse.redirect(new URL(next, req.url), 303);
  setSession(res, token, req.nextUrl.protocol === 'https:');
  return res;
}

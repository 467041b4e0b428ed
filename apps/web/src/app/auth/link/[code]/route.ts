// Opening a one-time sign-in link: the code is spent, the session cookie set, the browser sent on.
import { type NextRequest, NextResponse } from 'next/server';
import { consumeLink } from '@/lib/one-time-links';
import { setSession } from '@/lib/session-cookie';

export async function GET(req: NextRequest, ctx: { params: Promise<{ code: string }> }) {
  const { code } = await ctx.params;
  const link = consumeLink(code);
  if (!link) {
    const url = new URL('/signin', req.url);
    url.searchParams.set('error', 'this sign-in link was already used or has expired; sign in with a token');
    return NextResponse.redirect(url, 303);
  }
  const res = NextResponse.redirect(new URL(link.next, req.url), 303);
  setSession(res, link.token, req.nextUrl.protocol === 'https:');
  return res;
}

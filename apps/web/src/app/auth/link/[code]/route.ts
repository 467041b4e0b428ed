// Opening a one-time sign-in link: the code is spent, the session cookie set, the browser sent on.
import type { NextRequest } from 'next/server';
import { consumeLink } from '@/lib/one-time-links';
import { redirectTo, requestOrigin } from '@/lib/redirect';
import { setSession } from '@/lib/session-cookie';

export async function GET(req: NextRequest, ctx: { params: Promise<{ code: string }> }) {
  const { code } = await ctx.params;
  const link = consumeLink(code);
  if (!link)
    return redirectTo('/signin', {
      error: 'this sign-in link was already used or has expired; sign in with a token',
    });
  const res = redirectTo(link.next);
  setSession(res, link.token, requestOrigin(req).startsWith('https:'));
  return res;
}

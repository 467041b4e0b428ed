// POST from the sign-in form: checks the token with the API, then keeps it in the httpOnly cookie.
import type { NextRequest } from 'next/server';
import { redirectTo, requestOrigin } from '@/lib/redirect';
import { safeNext, setSession } from '@/lib/session-cookie';
import { verifyProjectToken } from '@/lib/verify-token';

export async function POST(req: NextRequest) {
  const form = await req.formData();
  const token = String(form.get('token') ?? '').trim();
  const next = safeNext(String(form.get('next') ?? ''));
  const result = await verifyProjectToken(token);
  if (!result.ok) return redirectTo('/signin', { error: result.message, ...(next !== '/runs' && { next }) });
  const res = redirectTo(next);
  setSession(res, token, requestOrigin(req).startsWith('https:'));
  return res;
}

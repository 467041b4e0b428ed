import { type NextRequest, NextResponse } from 'next/server';
import { clearSession } from '@/lib/session-cookie';

export async function POST(req: NextRequest) {
  const res = NextResponse.redirect(new URL('/signin', req.url), 303);
  clearSession(res);
  return res;
}

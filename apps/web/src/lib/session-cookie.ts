// The session cookie's attributes, in one place: httpOnly (no script reads it), SameSite=Strict (no other
// site can make the browser send it), Secure when served over HTTPS, 12 hours.
import type { NextResponse } from 'next/server';
import { SESSION_COOKIE } from './config';

export const SESSION_MAX_AGE_S = 12 * 3600;

export function setSession(res: NextResponse, token: string, secure: boolean): void {
  res.cookies.set(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    secure,
    path: '/',
    maxAge: SESSION_MAX_AGE_S,
  });
}

export function clearSession(res: NextResponse): void {
  res.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', path: '/', maxAge: 0 });
}

/** A path inside the dashboard to go to after signing in; anything else (other sites, `//x`) is '/runs'. */
export function safeNext(next: string | null | undefined): string {
  if (!next?.startsWith('/') || next.startsWith('//') || next.includes('\\')) return '/runs';
  return next;
}

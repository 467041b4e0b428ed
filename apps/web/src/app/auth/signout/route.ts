import { redirectTo } from '@/lib/redirect';
import { clearSession } from '@/lib/session-cookie';

export async function POST() {
  const res = redirectTo('/signin');
  clearSession(res);
  return res;
}

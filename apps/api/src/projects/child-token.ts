// A token minted by another token is no wider than its parent: it expires no later. (Its scope is at most
// the parent's already: only write tokens and the admin may mint, and they mint read or write.)
import type { Principal } from '../auth/principal.js';
import { badRequest } from '../http/validation.js';

/** The child's expiry, or a 400 when the caller asks for one beyond its own. */
export function childExpiry(
  caller: Principal,
  expiresInSeconds: number | undefined,
  now: number,
): Date | undefined {
  const asked = expiresInSeconds === undefined ? null : now + expiresInSeconds * 1000;
  const parent = caller.kind === 'admin' ? null : caller.expiresAt;
  if (parent === null) return asked === null ? undefined : new Date(asked);
  const left = Math.floor((parent - now) / 1000);
  if (asked === null || asked > parent)
    throw badRequest([
      {
        path: 'body.expiresInSeconds',
        message: `this token expires in ${left} s; a token it creates must expire no later (at most ${left})`,
      },
    ]);
  return new Date(asked);
}

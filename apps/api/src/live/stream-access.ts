// Live streams outlive the request that authorized them, so they keep checking: a stream closes when
// its token is revoked (at once on the replica that revoked it, through the bus on the others, and by a
// database re-check every few seconds as a backstop) or when the token expires.
import { Injectable } from '@nestjs/common';
import {
  catchError,
  filter,
  from,
  interval,
  merge,
  type Observable,
  of,
  switchMap,
  takeUntil,
  timer,
} from 'rxjs';
import type { Principal } from '../auth/principal.js';
import { TokenStore } from '../auth/tokens.js';
import { LiveBus } from './bus.js';

@Injectable()
export class StreamAccess {
  /** How often an open stream re-reads its token. */
  static recheckMs = 2000;

  constructor(
    private readonly tokens: TokenStore,
    private readonly bus: LiveBus,
  ) {}

  /** `source` until the caller's token stops being valid. */
  whileValid<T>(caller: Principal, source: Observable<T>): Observable<T> {
    if (caller.kind === 'admin') return source;
    const ends: Observable<unknown>[] = [
      this.bus.revoked(caller.tokenId),
      interval(StreamAccess.recheckMs).pipe(
        // A database outage keeps streams open; a revocation is seen once it answers again.
        switchMap(() => from(this.tokens.stillValid(caller.tokenId)).pipe(catchError(() => of(true)))),
        filter((valid) => !valid),
      ),
    ];
    if (caller.expiresAt !== null) ends.push(timer(new Date(caller.expiresAt)));
    return source.pipe(takeUntil(merge(...ends)));
  }
}

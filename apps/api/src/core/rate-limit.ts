// Per-project rate limit on metric ingest, counted in points rather than requests (one request may carry
// one point or 100,000). A token bucket per project (so minting more tokens does not raise the limit):
// refills at `rate` points/s, holds up to 2 s' worth.
// Hand-written because the usual limiters (@fastify/rate-limit, @nestjs/throttler) count requests only.
import { HttpException, HttpStatus } from '@nestjs/common';

export class PointRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly rate: number) {}

  /** Takes `points` from the caller's bucket or throws 429 with how long to wait. */
  take(key: string, points: number, now = performance.now()): void {
    const cap = this.rate * 2;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 100_000) this.buckets.clear();
      b = { tokens: cap, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(cap, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    if (points > b.tokens) {
      const waitS = Math.ceil((points - b.tokens) / this.rate);
      throw new HttpException(
        {
          statusCode: 429,
          error: 'Too Many Requests',
          message: `ingest rate limit of ${this.rate} points/s per project exceeded; retry in ${waitS}s`,
          retryAfterSeconds: waitS,
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    b.tokens -= points;
  }
}

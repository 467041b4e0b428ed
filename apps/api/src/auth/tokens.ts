// Bearer tokens: random secrets, stored as SHA-256 (a fast hash is right for 256-bit random secrets;
// slow password hashes defend guessable inputs). Lookups are cached briefly; revocation clears the cache.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '@kiln/db';
import type { Principal } from './principal.js';

export function newSecret(kind: 'project' | 'run'): string {
  return `kiln_${kind === 'run' ? 'r' : 'p'}_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export class TokenError extends Error {}

interface Cached {
  principal: Principal;
  expiresAt: number | null;
  until: number;
}

export class TokenStore {
  private readonly cache = new Map<string, Cached>();
  private readonly adminHash: Buffer;

  constructor(
    private readonly db: Db,
    adminToken: string,
    private readonly cacheMs = 5000,
  ) {
    this.adminHash = createHash('sha256').update(adminToken).digest();
  }

  /** The caller behind a secret, or a TokenError saying why not. */
  async resolve(secret: string): Promise<Principal> {
    const digest = createHash('sha256').update(secret).digest();
    if (timingSafeEqual(digest, this.adminHash)) return { kind: 'admin' };
    const hash = digest.toString('hex');
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) {
      if (hit.expiresAt !== null && hit.expiresAt <= now) throw new TokenError('token has expired');
      return hit.principal;
    }
    const row = await this.db.prisma.apiToken.findUnique({ where: { tokenHash: hash } });
    if (!row) throw new TokenError('unknown token');
    if (row.revokedAt) throw new TokenError('token has been revoked');
    if (row.expiresAt && row.expiresAt.getTime() <= now) throw new TokenError('token has expired');
    const expiresAt = row.expiresAt?.getTime() ?? null;
    const principal: Principal =
      row.scope === 'run' && row.runId
        ? { kind: 'run', tokenId: row.id, projectId: row.projectId, runId: row.runId, expiresAt }
        : {
            kind: 'project',
            tokenId: row.id,
            projectId: row.projectId,
            scope: row.scope === 'read' ? 'read' : 'write',
            expiresAt,
          };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, {
      principal,
      expiresAt: row.expiresAt?.getTime() ?? null,
      until: now + this.cacheMs,
    });
    return principal;
  }

  /** Whether a token is neither revoked nor expired now, read from the database (no cache). */
  async stillValid(tokenId: string): Promise<boolean> {
    const row = await this.db.prisma.apiToken.findUnique({
      where: { id: tokenId },
      select: { revokedAt: true, expiresAt: true },
    });
    return !!row && !row.revokedAt && (!row.expiresAt || row.expiresAt.getTime() > Date.now());
  }

  /** Drops cached lookups (after a revocation), so the next request sees the database. */
  invalidate(): void {
    this.cache.clear();
  }

  async issue(opts: {
    projectId: string;
    name: string;
    scope: 'read' | 'write' | 'run';
    runId?: string;
    expiresAt?: Date;
  }): Promise<{ id: string; token: string; expiresAt: Date | null }> {
    const token = newSecret(opts.scope === 'run' ? 'run' : 'project');
    const row = await this.db.prisma.apiToken.create({
      data: {
        projectId: opts.projectId,
        runId: opts.runId ?? null,
        name: opts.name,
        scope: opts.scope,
        tokenHash: hashToken(token),
        expiresAt: opts.expiresAt ?? null,
      },
    });
    return { id: row.id, token, expiresAt: row.expiresAt };
  }
}

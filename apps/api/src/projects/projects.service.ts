// Projects and their tokens.
import type { Db } from '@kiln/db';
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { Static } from '@sinclair/typebox';
import { assertProjectWrite, type Principal } from '../auth/principal.js';
import { TokenStore } from '../auth/tokens.js';
import { DB } from '../core/tokens.js';
import type { CreateProject, CreateToken } from '../http/schemas.js';

@Injectable()
export class ProjectsService {
  constructor(
    @Inject(DB) private readonly db: Db,
    private readonly tokens: TokenStore,
  ) {}

  create(b: Static<typeof CreateProject>) {
    return this.db.prisma.project.create({ data: b });
  }

  /** Every project for the admin; the caller's own otherwise. */
  list(caller: Principal) {
    return this.db.prisma.project.findMany({
      where: caller.kind === 'admin' ? {} : { id: caller.projectId },
      orderBy: { name: 'asc' },
    });
  }

  async issueToken(projectId: string, b: Static<typeof CreateToken>) {
    const expiresAt = b.expiresInSeconds ? new Date(Date.now() + b.expiresInSeconds * 1000) : undefined;
    const t = await this.tokens.issue({ projectId, name: b.name, scope: b.scope, expiresAt });
    return { id: t.id, token: t.token, scope: b.scope, expiresAt: t.expiresAt };
  }

  listTokens(projectId: string) {
    return this.db.prisma.apiToken.findMany({
      where: { projectId },
      select: {
        id: true,
        name: true,
        scope: true,
        runId: true,
        createdAt: true,
        expiresAt: true,
        revokedAt: true,
      },
      orderBy: { createdAt: 'asc' },
    });
  }

  /** Revokes a token the caller may manage; takes effect at once on this replica. */
  async revokeToken(caller: Principal, tokenId: string) {
    const t = await this.db.prisma.apiToken.findUnique({ where: { id: tokenId } });
    if (!t) throw new NotFoundException(`token ${tokenId} not found`);
    assertProjectWrite(caller, t.projectId);
    await this.db.prisma.apiToken.update({ where: { id: t.id }, data: { revokedAt: new Date() } });
    this.tokens.invalidate();
  }
}

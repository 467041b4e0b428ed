// Projects and their tokens.
import type { ApiToken, Db, Project } from '@kiln/db';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { Static } from '@sinclair/typebox';
import { assertProjectWrite, type Principal } from '../auth/principal.js';
import { TokenStore } from '../auth/tokens.js';
import { type ApiConfig, limitsOf } from '../config.js';
import { API_CONFIG, DB } from '../core/tokens.js';
import type { CreateProject, CreateToken } from '../http/schemas.js';
import { LiveBus } from '../live/bus.js';
import { childExpiry } from './child-token.js';

@Injectable()
export class ProjectsService {
  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly tokens: TokenStore,
    private readonly bus: LiveBus,
  ) {}

  create(b: Static<typeof CreateProject>): Promise<Project> {
    return this.db.prisma.project.create({ data: b });
  }

  /** Every project for the admin; the caller's own otherwise. */
  list(caller: Principal): Promise<Project[]> {
    return this.db.prisma.project.findMany({
      where: caller.kind === 'admin' ? {} : { id: caller.projectId },
      orderBy: { name: 'asc' },
    });
  }

  /**
   * A new token no wider than the caller's: a write token may mint read or write tokens that expire no
   * later than itself. At most KILN_MAX_TOKENS_PER_PROJECT unrevoked tokens per project.
   */
  async issueToken(caller: Principal, projectId: string, b: Static<typeof CreateToken>) {
    const expiresAt = childExpiry(caller, b.expiresInSeconds, Date.now());
    const max = limitsOf(this.config).maxTokensPerProject;
    const live = await this.db.prisma.apiToken.count({
      where: { projectId, revokedAt: null, scope: { in: ['read', 'write'] } },
    });
    if (live >= max)
      throw new ConflictException(
        `project has ${live} unrevoked tokens, the limit (KILN_MAX_TOKENS_PER_PROJECT=${max}); revoke some first`,
      );
    const t = await this.tokens.issue({ projectId, name: b.name, scope: b.scope, expiresAt });
    return { id: t.id, token: t.token, scope: b.scope, expiresAt: t.expiresAt };
  }

  listTokens(
    projectId: string,
  ): Promise<Pick<ApiToken, 'id' | 'name' | 'scope' | 'runId' | 'createdAt' | 'expiresAt' | 'revokedAt'>[]> {
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

  /**
   * Revokes a token the caller may manage; takes effect at once on this replica, and its live streams
   * close on every replica. Another project's token answers exactly as an unknown one.
   */
  async revokeToken(caller: Principal, tokenId: string) {
    const t = await this.db.prisma.apiToken.findUnique({ where: { id: tokenId } });
    if (!t || (caller.kind !== 'admin' && caller.projectId !== t.projectId))
      throw new NotFoundException(`token ${tokenId} not found`);
    assertProjectWrite(caller, t.projectId);
    await this.db.prisma.apiToken.update({ where: { id: t.id }, data: { revokedAt: new Date() } });
    this.tokens.invalidate();
    this.bus.publish({ type: 'revoked', runId: '*', tokenId: t.id });
  }
}

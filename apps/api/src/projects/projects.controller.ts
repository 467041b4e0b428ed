import { Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { type AuthedRequest, assertAdmin, assertProjectRead, assertProjectWrite } from '../auth/principal.js';
import { CreateProject, CreateToken, Uuid } from '../http/schemas.js';
import { check } from '../http/validation.js';
import { Services } from '../services.js';

// biome-ignore lint/suspicious/noExplicitAny: TypeBox schemas are JSON Schema; swagger's type is narrower.
const schema = (s: unknown) => ({ schema: s as any });

@ApiTags('projects')
@ApiBearerAuth()
@Controller()
export class ProjectsController {
  constructor(private readonly s: Services) {}

  @Post('projects')
  @ApiBody(schema(CreateProject))
  async create(@Req() req: AuthedRequest, @Body() body: unknown) {
    assertAdmin(req.principal);
    const b = check(CreateProject, body, 'body');
    return this.s.db.prisma.project.create({ data: b });
  }

  @Get('projects')
  async list(@Req() req: AuthedRequest) {
    const p = req.principal;
    return this.s.db.prisma.project.findMany({
      where: p.kind === 'admin' ? {} : { id: p.projectId },
      orderBy: { name: 'asc' },
    });
  }

  @Get('projects/:projectId')
  async get(@Req() req: AuthedRequest, @Param('projectId') projectId: string) {
    const project = await this.s.project(projectId);
    assertProjectRead(req.principal, project.id);
    return project;
  }

  @Post('projects/:projectId/tokens')
  @ApiBody(schema(CreateToken))
  async createToken(@Req() req: AuthedRequest, @Param('projectId') projectId: string, @Body() body: unknown) {
    const project = await this.s.project(projectId);
    assertProjectWrite(req.principal, project.id);
    const b = check(CreateToken, body, 'body');
    const expiresAt = b.expiresInSeconds ? new Date(Date.now() + b.expiresInSeconds * 1000) : undefined;
    const t = await this.s.tokens.issue({ projectId: project.id, name: b.name, scope: b.scope, expiresAt });
    return { id: t.id, token: t.token, scope: b.scope, expiresAt: t.expiresAt };
  }

  @Get('projects/:projectId/tokens')
  async listTokens(@Req() req: AuthedRequest, @Param('projectId') projectId: string) {
    const project = await this.s.project(projectId);
    assertProjectWrite(req.principal, project.id);
    return this.s.db.prisma.apiToken.findMany({
      where: { projectId: project.id },
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

  @Delete('tokens/:tokenId')
  @HttpCode(204)
  async revoke(@Req() req: AuthedRequest, @Param('tokenId') tokenId: string) {
    check(Uuid, tokenId, 'params.tokenId');
    const t = await this.s.db.prisma.apiToken.findUnique({ where: { id: tokenId } });
    if (!t) throw new NotFoundException(`token ${tokenId} not found`);
    assertProjectWrite(req.principal, t.projectId);
    await this.s.db.prisma.apiToken.update({ where: { id: t.id }, data: { revokedAt: new Date() } });
    this.s.tokens.invalidate();
  }
}

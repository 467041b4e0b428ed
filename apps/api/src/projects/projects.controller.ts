import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Static } from '@sinclair/typebox';
import { Caller } from '../auth/caller.js';
import { assertAdmin, assertProjectRead, assertProjectWrite, type Principal } from '../auth/principal.js';
import { Lookup } from '../core/lookup.js';
import { ApiAnswer, ApiJsonBody } from '../http/openapi.js';
import { Project, Projects, TokenCreated, Tokens } from '../http/responses.js';
import { CreateProject, CreateToken } from '../http/schemas.js';
import { uuid, Validated } from '../http/validated.pipe.js';
import { ProjectsService } from './projects.service.js';

@ApiTags('projects')
@ApiBearerAuth()
@Controller()
export class ProjectsController {
  constructor(
    private readonly lookup: Lookup,
    private readonly projects: ProjectsService,
  ) {}

  @Post('projects')
  @ApiAnswer(Project, 201)
  @ApiJsonBody(CreateProject)
  async create(
    @Caller() caller: Principal,
    @Body(new Validated(CreateProject)) body: Static<typeof CreateProject>,
  ) {
    assertAdmin(caller);
    return this.projects.create(body);
  }

  @Get('projects')
  @ApiAnswer(Projects)
  async list(@Caller() caller: Principal) {
    return this.projects.list(caller);
  }

  @Get('projects/:projectId')
  @ApiAnswer(Project)
  async get(@Caller() caller: Principal, @Param('projectId', uuid('projectId')) projectId: string) {
    const project = await this.lookup.project(projectId);
    assertProjectRead(caller, project.id);
    return project;
  }

  @Post('projects/:projectId/tokens')
  @ApiAnswer(TokenCreated, 201)
  @ApiJsonBody(CreateToken)
  async createToken(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Body(new Validated(CreateToken)) body: Static<typeof CreateToken>,
  ) {
    const project = await this.lookup.project(projectId);
    assertProjectWrite(caller, project.id);
    return this.projects.issueToken(caller, project.id, body);
  }

  @Get('projects/:projectId/tokens')
  @ApiAnswer(Tokens)
  async listTokens(@Caller() caller: Principal, @Param('projectId', uuid('projectId')) projectId: string) {
    const project = await this.lookup.project(projectId);
    assertProjectWrite(caller, project.id);
    return this.projects.listTokens(project.id);
  }

  @Delete('tokens/:tokenId')
  @ApiAnswer(null, 204)
  async revoke(@Caller() caller: Principal, @Param('tokenId', uuid('tokenId')) tokenId: string) {
    await this.projects.revokeToken(caller, tokenId);
  }
}

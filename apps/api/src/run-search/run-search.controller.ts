import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Static } from '@sinclair/typebox';
import { Caller } from '../auth/caller.js';
import { assertProjectRead, type Principal } from '../auth/principal.js';
import { Lookup } from '../core/lookup.js';
import { ApiAnswer, ApiQueryOf } from '../http/openapi.js';
import { Runs } from '../http/responses.js';
import { uuid, Validated } from '../http/validated.pipe.js';
import { RunSearchService } from './run-search.service.js';
import { SearchRunsQuery } from './search-query.js';

@ApiTags('runs')
@ApiBearerAuth()
@Controller()
export class RunSearchController {
  constructor(
    private readonly lookup: Lookup,
    private readonly search: RunSearchService,
  ) {}

  /** Runs filtered by hyperparameter and metric conditions, sorted by any column, one page. */
  @Get('projects/:projectId/runs/search')
  @ApiAnswer(Runs)
  @ApiQueryOf(SearchRunsQuery)
  async list(
    @Caller() caller: Principal,
    @Param('projectId', uuid('projectId')) projectId: string,
    @Query(new Validated(SearchRunsQuery, 'query')) query: Static<typeof SearchRunsQuery>,
  ) {
    const project = await this.lookup.project(projectId);
    assertProjectRead(caller, project.id);
    return this.search.search(project.id, query);
  }
}

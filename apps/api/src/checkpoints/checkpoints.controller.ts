import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Static } from '@sinclair/typebox';
import { Caller } from '../auth/caller.js';
import { assertRunRead, assertRunWrite, type Principal } from '../auth/principal.js';
import { Lookup } from '../core/lookup.js';
import { ApiAnswer, ApiJsonBody } from '../http/openapi.js';
import { Checkpoint, Checkpoints } from '../http/responses.js';
import { RegisterCheckpoint } from '../http/schemas.js';
import { uuid, Validated } from '../http/validated.pipe.js';
import { CheckpointsService } from './checkpoints.service.js';

@ApiTags('checkpoints')
@ApiBearerAuth()
@Controller()
export class CheckpointsController {
  constructor(
    private readonly lookup: Lookup,
    private readonly checkpoints: CheckpointsService,
  ) {}

  /** Registers a checkpoint (idempotent on run + path). At most one is best and one is last per run. */
  @Post('runs/:runId/checkpoints')
  @ApiAnswer(Checkpoint, 201)
  @ApiJsonBody(RegisterCheckpoint)
  async register(
    @Caller() caller: Principal,
    @Param('runId', uuid('runId')) runId: string,
    @Body(new Validated(RegisterCheckpoint)) body: Static<typeof RegisterCheckpoint>,
  ) {
    const run = await this.lookup.runRef(runId);
    assertRunWrite(caller, run);
    return this.checkpoints.register(run.id, body);
  }

  @Get('runs/:runId/checkpoints')
  @ApiAnswer(Checkpoints)
  async list(@Caller() caller: Principal, @Param('runId', uuid('runId')) runId: string) {
    const run = await this.lookup.runRef(runId);
    assertRunRead(caller, run);
    return this.checkpoints.list(run.id);
  }

  @Post('runs/:runId/checkpoints/:checkpointId/best')
  @ApiAnswer(Checkpoint, 201)
  async markBest(
    @Caller() caller: Principal,
    @Param('runId', uuid('runId')) runId: string,
    @Param('checkpointId', uuid('checkpointId')) checkpointId: string,
  ) {
    const run = await this.lookup.runRef(runId);
    assertRunWrite(caller, run);
    return this.checkpoints.markBest(run.id, checkpointId);
  }
}

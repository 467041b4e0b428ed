import { Body, Controller, Get, NotFoundException, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import { type AuthedRequest, assertRunRead, assertRunWrite } from '../auth/principal.js';
import { RegisterCheckpoint, Uuid } from '../http/schemas.js';
import { check } from '../http/validation.js';
import { checkpointJson, Services } from '../services.js';

// biome-ignore lint/suspicious/noExplicitAny: TypeBox schemas are JSON Schema; swagger's type is narrower.
const schema = (s: unknown) => ({ schema: s as any });

@ApiTags('checkpoints')
@ApiBearerAuth()
@Controller()
export class CheckpointsController {
  constructor(private readonly s: Services) {}

  /** Registers a checkpoint (idempotent on run + path). At most one is best and one is last per run. */
  @Post('runs/:runId/checkpoints')
  @ApiBody(schema(RegisterCheckpoint))
  async register(@Req() req: AuthedRequest, @Param('runId') runId: string, @Body() body: unknown) {
    const run = await this.s.run(runId);
    assertRunWrite(req.principal, run);
    const b = check(RegisterCheckpoint, body, 'body');
    const data = { ...b, metrics: b.metrics ?? {}, isBest: b.isBest ?? false, isLast: b.isLast ?? false };
    const c = await this.s.db.prisma.$transaction(async (tx) => {
      if (data.isBest)
        await tx.checkpoint.updateMany({ where: { runId: run.id, isBest: true }, data: { isBest: false } });
      if (data.isLast)
        await tx.checkpoint.updateMany({ where: { runId: run.id, isLast: true }, data: { isLast: false } });
      return tx.checkpoint.upsert({
        where: { runId_path: { runId: run.id, path: b.path } },
        create: { ...data, runId: run.id },
        update: data,
      });
    });
    this.s.bus.publish({ type: 'checkpoint', runId: run.id, step: b.step, path: b.path, isBest: c.isBest });
    return checkpointJson(c);
  }

  @Get('runs/:runId/checkpoints')
  async list(@Req() req: AuthedRequest, @Param('runId') runId: string) {
    const run = await this.s.run(runId);
    assertRunRead(req.principal, run);
    const rows = await this.s.db.prisma.checkpoint.findMany({
      where: { runId: run.id },
      orderBy: [{ step: 'asc' }, { createdAt: 'asc' }],
    });
    return rows.map(checkpointJson);
  }

  @Post('runs/:runId/checkpoints/:checkpointId/best')
  async markBest(
    @Req() req: AuthedRequest,
    @Param('runId') runId: string,
    @Param('checkpointId') checkpointId: string,
  ) {
    const run = await this.s.run(runId);
    assertRunWrite(req.principal, run);
    check(Uuid, checkpointId, 'params.checkpointId');
    const c = await this.s.db.prisma.$transaction(async (tx) => {
      const found = await tx.checkpoint.findFirst({ where: { id: checkpointId, runId: run.id } });
      if (!found) throw new NotFoundException(`checkpoint ${checkpointId} not found in run ${run.id}`);
      await tx.checkpoint.updateMany({ where: { runId: run.id, isBest: true }, data: { isBest: false } });
      return tx.checkpoint.update({ where: { id: found.id }, data: { isBest: true } });
    });
    return checkpointJson(c);
  }
}

// Checkpoints of a run: registered idempotently on (run, path); at most one best and one last per run.
import type { Db } from '@kiln/db';
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { Static } from '@sinclair/typebox';
import { DB } from '../core/tokens.js';
import type { RegisterCheckpoint } from '../http/schemas.js';
import { LiveBus } from '../live/bus.js';
import { checkpointJson } from './checkpoint-json.js';

@Injectable()
export class CheckpointsService {
  constructor(
    @Inject(DB) private readonly db: Db,
    private readonly bus: LiveBus,
  ) {}

  async register(runId: string, b: Static<typeof RegisterCheckpoint>) {
    const data = { ...b, metrics: b.metrics ?? {}, isBest: b.isBest ?? false, isLast: b.isLast ?? false };
    const c = await this.db.prisma.$transaction(async (tx) => {
      if (data.isBest)
        await tx.checkpoint.updateMany({ where: { runId, isBest: true }, data: { isBest: false } });
      if (data.isLast)
        await tx.checkpoint.updateMany({ where: { runId, isLast: true }, data: { isLast: false } });
      return tx.checkpoint.upsert({
        where: { runId_path: { runId, path: b.path } },
        create: { ...data, runId },
        update: data,
      });
    });
    this.bus.publish({ type: 'checkpoint', runId, step: b.step, path: b.path, isBest: c.isBest });
    return checkpointJson(c);
  }

  async list(runId: string) {
    const rows = await this.db.prisma.checkpoint.findMany({
      where: { runId },
      orderBy: [{ step: 'asc' }, { createdAt: 'asc' }],
    });
    return rows.map(checkpointJson);
  }

  async markBest(runId: string, checkpointId: string) {
    const c = await this.db.prisma.$transaction(async (tx) => {
      const found = await tx.checkpoint.findFirst({ where: { id: checkpointId, runId } });
      if (!found) throw new NotFoundException(`checkpoint ${checkpointId} not found in run ${runId}`);
      await tx.checkpoint.updateMany({ where: { runId, isBest: true }, data: { isBest: false } });
      return tx.checkpoint.update({ where: { id: found.id }, data: { isBest: true } });
    });
    return checkpointJson(c);
  }
}

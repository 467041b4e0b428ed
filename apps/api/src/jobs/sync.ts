// Keeps runs in step with their TrainingJobs: phase → run status, progress → run progress. Started with
// the API when a cluster is configured; restarts its watch when the connection drops.

import type { Db } from '@kiln/db';
import { LABELS } from '@kiln/spec';
import { Logger } from '@nestjs/common';
import type { LiveBus } from '../live/bus.js';
import type { JobBackend, TrainingJobObject } from './backend.js';

const phaseToStatus: Record<string, string> = {
  Pending: 'pending',
  Queued: 'queued',
  Starting: 'starting',
  Running: 'running',
  Restarting: 'restarting',
  Succeeded: 'succeeded',
  Failed: 'failed',
  Suspended: 'suspended',
};

export class JobStatusSync {
  private stop: (() => void) | undefined;
  private stopped = false;
  private readonly log = new Logger('job-sync');

  constructor(
    private readonly jobs: JobBackend,
    private readonly db: Db,
    private readonly bus: LiveBus,
  ) {}

  async start(): Promise<void> {
    if (this.stopped) return;
    try {
      this.stop = await this.jobs.watch(
        (e) => void this.apply(e.type, e.job).catch((err) => this.log.warn(`sync failed: ${err}`)),
        () => this.restart(),
      );
    } catch (e) {
      this.log.warn(`watch failed: ${e}; retrying`);
      this.restart();
    }
  }

  private restart() {
    if (!this.stopped) setTimeout(() => void this.start(), 2000).unref();
  }

  close(): void {
    this.stopped = true;
    this.stop?.();
  }

  async apply(type: string, job: TrainingJobObject): Promise<void> {
    const runId = job.metadata.labels?.[LABELS.runId];
    const where = runId ? { id: runId } : job.metadata.uid ? { jobUid: job.metadata.uid } : null;
    if (!where) return;
    const run = await this.db.prisma.run.findUnique({ where });
    if (!run) return;
    const st = (job.status ?? {}) as {
      phase?: string;
      progress?: { step?: number; totalSteps?: number; etaSeconds?: number; epoch?: number };
    };
    let status = st.phase ? (phaseToStatus[st.phase] as typeof run.status | undefined) : undefined;
    if (type === 'DELETED' && !['succeeded', 'failed'].includes(run.status)) status = 'cancelled';
    const p = st.progress;
    const terminal = status === 'succeeded' || status === 'failed' || status === 'cancelled';
    await this.db.prisma.run.update({
      where: { id: run.id },
      data: {
        ...(status && { status }),
        ...(job.metadata.uid && !run.jobUid && { jobUid: job.metadata.uid }),
        ...(status === 'running' && !run.startedAt && { startedAt: new Date() }),
        ...(terminal && !run.finishedAt && { finishedAt: new Date() }),
        ...(p?.step !== undefined && { step: p.step }),
        ...(p?.totalSteps !== undefined && { totalSteps: p.totalSteps }),
        ...(p?.etaSeconds !== undefined && { etaSeconds: p.etaSeconds }),
        ...(p?.epoch !== undefined && { epoch: p.epoch }),
      },
    });
    if (status && status !== run.status) {
      await this.db.prisma.runEvent.create({
        data: {
          runId: run.id,
          type: 'status',
          message: `${run.status} → ${status} (TrainingJob ${type.toLowerCase()})`,
        },
      });
      this.bus.publish({ type: 'status', runId: run.id, status });
    }
  }
}

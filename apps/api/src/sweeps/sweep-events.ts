// The API's side of the sweep queue: "sweep X changed" after every write, so the worker acts at once.
// Sending is best effort and never blocks a request on Redis: the row is the truth, and the worker's
// periodic re-scan finds any sweep whose event was lost.

import { SWEEP_QUEUE } from '@kiln/spec';
import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';

const SEND_TIMEOUT_MS = 1000;

export class SweepEvents implements OnModuleDestroy {
  private readonly queue: Queue;
  private readonly log = new Logger('sweep-events');

  constructor(redisUrl: string, prefix: string) {
    this.queue = new Queue(SWEEP_QUEUE, {
      connection: { url: redisUrl, enableOfflineQueue: false, maxRetriesPerRequest: 1 },
      prefix,
      defaultJobOptions: { removeOnComplete: true, removeOnFail: 1000, attempts: 1 },
    });
    this.queue.on('error', () => {});
  }

  async changed(sweepId: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queue.add('changed', { sweepId }, { deduplication: { id: sweepId, keepLastIfActive: true } }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out')), SEND_TIMEOUT_MS);
        }),
      ]);
    } catch (e) {
      this.log.warn(
        `sweep ${sweepId}: event not sent (${(e as Error).message}); the worker's re-scan will find it`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.queue.close().catch(() => {});
  }
}

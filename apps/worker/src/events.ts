// "Something changed for sweep X" on BullMQ: the API sends it when a sweep is created or edited, the
// worker's re-scan for every active sweep. One job per sweep at a time (deduplicated by sweep id); an
// event arriving while that sweep's pass runs is kept and runs after it, so no change goes unseen.
import { SWEEP_QUEUE } from '@kiln/spec';
import { Queue } from 'bullmq';

export { SWEEP_QUEUE };

export interface SweepEventData {
  sweepId: string;
}

export interface RedisTarget {
  url: string;
  /** Key prefix: separates deployments (and tests) sharing one Redis. */
  prefix: string;
}

export class SweepEvents {
  readonly queue: Queue<SweepEventData>;

  constructor(redis: RedisTarget) {
    this.queue = new Queue<SweepEventData>(SWEEP_QUEUE, {
      connection: { url: redis.url, maxRetriesPerRequest: null },
      prefix: redis.prefix,
      defaultJobOptions: { removeOnComplete: true, removeOnFail: 1000, attempts: 1 },
    });
  }

  async changed(sweepId: string): Promise<void> {
    await this.queue.add('changed', { sweepId }, { deduplication: { id: sweepId, keepLastIfActive: true } });
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

// The sweep worker: a BullMQ consumer that runs reconcile passes; a watch on trial TrainingJobs (with a
// cluster) that sends a sweep's event when one of its jobs changes; and a slow re-scan that sends an event
// for every active sweep now and then, so a lost event (or a killed worker) only delays work.
import type { Db } from '@kiln/db';
import { reconcileSweep, SweepStore, type TrialLauncher } from '@kiln/sweep-runner';
import type { KubeConfig } from '@kubernetes/client-node';
import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { type RedisTarget, SWEEP_QUEUE, type SweepEventData, SweepEvents } from './events.js';
import { TrialWatch } from './trial-watch.js';

export interface SweepWorkerOptions {
  db: Db;
  redis: RedisTarget;
  launcher: TrialLauncher;
  log: Logger;
  rescanMs: number;
  concurrency: number;
  executor?: 'cluster' | 'local';
  /** The cluster whose trial TrainingJobs are watched (trials as TrainingJobs); none: re-scan only. */
  watch?: KubeConfig;
}

/** Passes over one sweep in a row while each finds more to do, bounded so other sweeps get their turn. */
const MAX_PASSES = 5;

export class SweepWorker {
  readonly events: SweepEvents;
  private readonly store: SweepStore;
  private worker: Worker<SweepEventData> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watch: TrialWatch | undefined;

  constructor(private readonly o: SweepWorkerOptions) {
    this.events = new SweepEvents(o.redis);
    this.store = new SweepStore(o.db);
  }

  async start(): Promise<void> {
    const ctx = { db: this.o.db, store: this.store, launcher: this.o.launcher, log: this.o.log };
    this.worker = new Worker<SweepEventData>(
      SWEEP_QUEUE,
      async (job) => {
        for (let i = 0; i < MAX_PASSES; i++) {
          const r = await reconcileSweep(ctx, job.data.sweepId);
          if (!r.changed || !r.active) return;
        }
        await this.events.changed(job.data.sweepId);
      },
      {
        connection: { url: this.o.redis.url, maxRetriesPerRequest: null },
        prefix: this.o.redis.prefix,
        concurrency: this.o.concurrency,
      },
    );
    this.worker.on('failed', (job, err) =>
      this.o.log.warn(
        { sweep: job?.data.sweepId, err: err.message },
        'sweep pass failed; retried on re-scan',
      ),
    );
    this.worker.on('error', (err) => this.o.log.warn({ err: err.message }, 'queue error'));
    await this.worker.waitUntilReady();
    if (this.o.watch) {
      this.watch = new TrialWatch(
        this.o.watch,
        (id) =>
          void this.events
            .changed(id)
            .catch((err) => this.o.log.warn({ sweep: id, err: err.message }, 'event not sent')),
        this.o.log,
      );
      await this.watch.start();
    }
    await this.rescan();
  }

  private async rescan(): Promise<void> {
    try {
      const ids = await this.store.activeSweepIds(this.o.executor ?? 'cluster');
      await Promise.all(ids.map((id) => this.events.changed(id)));
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 're-scan failed');
    }
    this.timer = setTimeout(() => void this.rescan(), this.o.rescanMs);
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.watch?.stop();
    await this.worker?.close();
    await this.events.close();
  }
}

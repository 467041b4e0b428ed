// The local executor (`kiln sweep create --local`): the same reconcile pass over the same Postgres rows,
// driven by a timer in the calling process instead of the queue (no Redis on a laptop), with trials as
// processes on this machine. Killed and started again, it picks the sweep up where the rows say.
import { createDb } from '@kiln/db';
import type { Logger } from 'pino';
import { LocalLauncher } from './local-launcher.js';
import { reconcileSweep } from './reconcile.js';
import { SweepStore, type TrialRow } from './store.js';
import { runTokenIssuer } from './tokens.js';

export interface LocalSweepOptions {
  databaseUrl: string;
  sweepId: string;
  /** Trial directories (output.log, exit code) go under <root>/<sweep id>/<trial>/. */
  root: string;
  cwd: string;
  /** The API that trials record their metrics to (KILN_TRACKING_URL); each gets a run token. */
  trackingUrl?: string;
  log: Logger;
  /** A pass runs at least this often. */
  intervalMs?: number;
  /** Called when a trial's row changes state. */
  onTrial?: (t: TrialRow) => void;
  signal?: AbortSignal;
}

export async function runLocalSweep(o: LocalSweepOptions): Promise<string> {
  const db = createDb(o.databaseUrl, 4);
  const store = new SweepStore(db);
  const launcher = new LocalLauncher({
    root: o.root,
    cwd: o.cwd,
    env: o.trackingUrl ? { KILN_TRACKING_URL: o.trackingUrl } : {},
    ...(o.trackingUrl && { issueRunToken: runTokenIssuer(db) }),
  });
  const ctx = { db, store, launcher, log: o.log };
  const seen = new Map<number, string>();
  try {
    for (;;) {
      const r = await reconcileSweep(ctx, o.sweepId);
      for (const t of await store.trials(o.sweepId)) {
        if (seen.get(t.number) === t.state) continue;
        seen.set(t.number, t.state);
        o.onTrial?.(t);
      }
      const sweep = await store.sweep(o.sweepId);
      if (!sweep) throw new Error(`sweep ${o.sweepId} was deleted`);
      if (!r.active && !r.busy) return sweep.status;
      if (o.signal?.aborted) return sweep.status;
      if (!r.changed) await new Promise((res) => setTimeout(res, o.intervalMs ?? 500));
    }
  } finally {
    await db.close();
  }
}

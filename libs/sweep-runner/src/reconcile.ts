// One pass over one sweep, level-triggered: observe every running trial's job and metrics, feed the
// search, start trials while running < parallelism and total < maxTrials, end the sweep when done.
// The search is rebuilt from the trial rows on every pass (never kept in memory), and a Postgres
// advisory lock makes passes over one sweep take turns; the lock dies with a killed worker's connection.
import type { Db } from '@kiln/db';
import { createSearch, type Search, type TrialRecord } from '@kiln/sweeps';
import type { Logger } from 'pino';
import type { TrialLauncher } from './launcher.js';
import { objectiveSeries } from './objective.js';
import { type SweepRow, SweepStore, type TrialRow, toRecord } from './store.js';

export interface ReconcileContext {
  db: Db;
  store: SweepStore;
  launcher: TrialLauncher;
  log: Logger;
  /** Jobs created at once when many trials start in one pass. */
  startConcurrency?: number;
}

export interface PassResult {
  /** Another pass holds the sweep's lock. */
  busy?: boolean;
  /** Something was written: another pass may find more to do. */
  changed: boolean;
  /** The sweep still needs passes (running, paused or stopping). */
  active: boolean;
}

export function searchSpecOf(sweep: SweepRow) {
  const { objective, algorithm, parameters } = sweep.spec.spec;
  return {
    objective,
    algorithm,
    parameters,
    ...(sweep.maxTrials === null ? {} : { maxTrials: sweep.maxTrials }),
    parallelism: sweep.parallelism,
  };
}

export async function reconcileSweep(ctx: ReconcileContext, sweepId: string): Promise<PassResult> {
  const client = await ctx.db.pool.connect();
  const key = `kiln-sweep:${sweepId}`;
  let broken: Error | undefined;
  try {
    const { rows } = await client.query<{ ok: boolean }>(
      'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
      [key],
    );
    if (!rows[0]?.ok) return { busy: true, changed: false, active: true };
    try {
      return await pass(ctx, sweepId);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch((e) => {
        broken = e as Error;
      });
    }
  } finally {
    client.release(broken);
  }
}

const isClientError = (e: unknown) => {
  const c = (e as { code?: number }).code;
  return typeof c === 'number' && c >= 400 && c < 500 && c !== 409 && c !== 429;
};

async function pass(ctx: ReconcileContext, sweepId: string): Promise<PassResult> {
  const { store, launcher, log } = ctx;
  const sweep = await store.sweep(sweepId);
  if (!sweep || sweep.status === 'stopped' || sweep.status === 'completed')
    return { changed: false, active: false };
  const trials = await store.trials(sweepId);
  const search = createSearch(searchSpecOf(sweep), trials.map(toRecord));
  const launched = await launcher.list(sweep);
  const { metric } = sweep.spec.spec.objective;
  const algorithm = sweep.spec.spec.algorithm as { resource?: 'epoch' | 'step' };
  const resource = algorithm.resource ?? 'epoch';
  let changed = false;
  let running = 0;

  const finish = async (
    t: TrialRow,
    state: 'complete' | 'failed' | 'stopped',
    value: number | null,
    reason: string | null,
  ) => {
    if (!(await store.finishTrial(t.id, state, value, reason))) return;
    search.tell(t.number, state === 'complete' ? { value: value! } : { state: 'failed' });
    changed = true;
    log.info({ sweep: sweep.name, trial: t.number, state, value, reason }, 'trial ended');
  };

  for (const t of trials) {
    const job = launched.get(t.number);
    if (t.state !== 'running') {
      // Pruned or stopped, but the pass that decided it died before its job was deleted.
      if ((t.state === 'pruned' || t.state === 'stopped') && job?.phase === 'running') {
        await launcher.stop(sweep, t);
        changed = true;
      }
      continue;
    }
    if (sweep.status === 'stopping') {
      await launcher.stop(sweep, t);
      await finish(t, 'stopped', null, 'the sweep was stopped');
      continue;
    }
    if (!job) {
      if (t.jobUid) {
        await finish(t, 'failed', null, 'its job was deleted');
        continue;
      }
      // Written by a pass that died before starting it; a paused sweep starts it on resume.
      running++;
      if (sweep.status === 'paused') continue;
      await startTrial(ctx, sweep, t, finish);
      changed = true;
      continue;
    }
    if (t.jobUid !== job.uid) {
      await store.setJobUid(t.id, job.uid);
      changed = true;
    }
    if (job.phase === 'failed') {
      await finish(t, 'failed', null, job.message ?? 'its job failed');
      continue;
    }
    const series = t.runId ? await objectiveSeries(ctx.db, t.runId, metric, resource) : [];
    const done = job.phase === 'succeeded';
    // Paused: running trials are left alone (no pruning); their values are caught up on resume.
    if (done || sweep.status === 'running') {
      const last = t.intermediate.at(-1)?.step ?? 0;
      const fresh = series.filter((p) => p.step > last);
      const intermediate = [...t.intermediate];
      let prune = false;
      for (const p of fresh) {
        intermediate.push(p);
        if (search.report(t.number, p.step, p.value) === 'prune' && !done) {
          prune = true;
          break;
        }
      }
      if (fresh.length) {
        await store.recordIntermediate(t.id, intermediate, prune);
        changed = true;
      }
      if (prune) {
        search.tell(t.number, { state: 'pruned' });
        log.info({ sweep: sweep.name, trial: t.number, step: intermediate.at(-1)?.step }, 'trial pruned');
        await launcher.stop(sweep, t);
        continue;
      }
    }
    if (done) {
      const final = series.at(-1);
      if (final) await finish(t, 'complete', final.value, null);
      else await finish(t, 'failed', null, `its run recorded no ${metric}`);
      continue;
    }
    running++;
  }

  if (sweep.status === 'stopping') {
    await store.setSweepStatus(sweep.id, ['stopping'], 'stopped');
    return { changed: true, active: false };
  }
  if (sweep.status === 'paused') return { changed, active: true };

  const total = trials.length;
  const want = Math.min(sweep.parallelism - running, (sweep.maxTrials ?? Number.POSITIVE_INFINITY) - total);
  let exhausted = false;
  if (want > 0) {
    const asked = search.ask(want);
    exhausted = asked.length < want;
    if (asked.length) {
      const rows = await store.insertTrials(sweep, asked);
      await startAll(
        ctx,
        sweep,
        rows.filter((r) => r.state === 'running' && !r.jobUid),
        finish,
      );
      running += rows.length;
      changed = true;
    }
  }
  const budgetSpent = sweep.maxTrials !== null && total + (want > 0 ? want : 0) >= sweep.maxTrials;
  if (running === 0 && (exhausted || budgetSpent || want <= 0)) {
    if (await store.setSweepStatus(sweep.id, ['running'], 'completed')) {
      log.info({ sweep: sweep.name, best: bestOf(search) }, 'sweep completed');
      return { changed: true, active: false };
    }
  }
  return { changed, active: true };
}

function bestOf(search: Search): TrialRecord | undefined {
  return search.best;
}

type Finish = (
  t: TrialRow,
  state: 'complete' | 'failed' | 'stopped',
  value: number | null,
  reason: string | null,
) => Promise<void>;

async function startTrial(ctx: ReconcileContext, sweep: SweepRow, t: TrialRow, finish: Finish) {
  try {
    const uid = await ctx.launcher.start(sweep, t);
    await ctx.store.setJobUid(t.id, uid);
  } catch (e) {
    // The cluster refuses this trial's job for good (bad template, missing namespace): a failed trial.
    if (!isClientError(e)) throw e;
    await finish(t, 'failed', null, `its job was rejected: ${(e as Error).message}`);
  }
}

async function startAll(ctx: ReconcileContext, sweep: SweepRow, rows: TrialRow[], finish: Finish) {
  const queue = [...rows];
  const workers = Array.from({ length: Math.min(ctx.startConcurrency ?? 32, queue.length) }, async () => {
    for (let t = queue.shift(); t; t = queue.shift()) await startTrial(ctx, sweep, t, finish);
  });
  await Promise.all(workers);
}

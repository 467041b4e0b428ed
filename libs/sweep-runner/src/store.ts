// The sweep's state in Postgres: sweep and trial rows. Every write is idempotent, so a pass that dies
// half-way and is redone (by this worker or another) leaves the same rows.
import type { Db } from '@kiln/db';
import type { Sweep as SweepDocument } from '@kiln/spec';
import type { TrialRecord } from '@kiln/sweeps';
import type pg from 'pg';
import { trialJobName } from './trial-job.js';

export type SweepStatus = 'running' | 'paused' | 'stopping' | 'stopped' | 'completed';
export type TrialState = TrialRecord['state'] | 'stopped';

export interface SweepRow {
  id: string;
  projectId: string;
  name: string;
  namespace: string;
  spec: SweepDocument;
  executor: 'cluster' | 'local';
  maxTrials: number | null;
  parallelism: number;
  status: SweepStatus;
}

export interface TrialRow {
  id: string;
  number: number;
  params: TrialRecord['params'];
  state: TrialState;
  value: number | null;
  intermediate: { step: number; value: number }[];
  reason: string | null;
  jobName: string;
  jobUid: string | null;
  runId: string | null;
}

const sweepColumns = `id, project_id AS "projectId", name, namespace, spec, executor, max_trials AS "maxTrials",
  parallelism, status`;
const trialColumns = `id, number, params, state, value, intermediate, reason, job_name AS "jobName", job_uid AS "jobUid",
  run_id AS "runId"`;

export class SweepStore {
  constructor(readonly db: Db) {}

  async sweep(id: string, client: pg.ClientBase | pg.Pool = this.db.pool): Promise<SweepRow | undefined> {
    const { rows } = await client.query<SweepRow>(`SELECT ${sweepColumns} FROM sweeps WHERE id = $1`, [id]);
    return rows[0];
  }

  /** Sweeps the worker still has work for (re-scanned periodically: level-triggered). */
  async activeSweepIds(executor: 'cluster' | 'local' = 'cluster'): Promise<string[]> {
    const { rows } = await this.db.pool.query<{ id: string }>(
      `SELECT id FROM sweeps WHERE status IN ('running', 'paused', 'stopping') AND executor = $1`,
      [executor],
    );
    return rows.map((r) => r.id);
  }

  async trials(sweepId: string, client: pg.ClientBase | pg.Pool = this.db.pool): Promise<TrialRow[]> {
    const { rows } = await client.query<TrialRow>(
      `SELECT ${trialColumns} FROM trials WHERE sweep_id = $1 ORDER BY number`,
      [sweepId],
    );
    return rows;
  }

  /**
   * Inserts the asked trials with a run each, in one transaction of two statements whatever their number;
   * a trial number that already exists (another worker, or a pass redone after a kill) writes nothing.
   * Returns the rows that now exist.
   */
  async insertTrials(sweep: SweepRow, asked: readonly TrialRecord[]): Promise<TrialRow[]> {
    if (!asked.length) return [];
    const numbers = asked.map((t) => t.number);
    const client = await this.db.pool.connect();
    try {
      await client.query('BEGIN');
      // New trials and their runs together (a data-modifying CTE); the runs' ids go onto the trials next,
      // as one statement cannot see the rows its own CTE inserted.
      const { rows: made } = await client.query<{ trialId: string; runId: string }>(
        `WITH t AS (
           INSERT INTO trials (sweep_id, number, params, job_name)
           SELECT $1, a.number, a.params, a.job_name
           FROM unnest($2::int[], $3::jsonb[], $4::text[]) AS a(number, params, job_name)
           ON CONFLICT (sweep_id, number) DO NOTHING
           RETURNING id, params, job_name
         )
         INSERT INTO runs (project_id, name, job_namespace, job_name, hyperparams, sweep_id, trial_id)
         SELECT $5, t.job_name, $6, t.job_name, t.params, $1, t.id FROM t
         RETURNING trial_id AS "trialId", id AS "runId"`,
        [
          sweep.id,
          numbers,
          asked.map((t) => JSON.stringify(t.params)),
          asked.map((t) => trialJobName(sweep.name, t.number)),
          sweep.projectId,
          sweep.namespace,
        ],
      );
      if (made.length)
        await client.query(
          `UPDATE trials SET run_id = m.run_id
           FROM unnest($1::uuid[], $2::uuid[]) AS m(trial_id, run_id) WHERE trials.id = m.trial_id`,
          [made.map((m) => m.trialId), made.map((m) => m.runId)],
        );
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
    const { rows } = await this.db.pool.query<TrialRow>(
      `SELECT ${trialColumns} FROM trials WHERE sweep_id = $1 AND number = ANY($2::int[]) ORDER BY number`,
      [sweep.id, numbers],
    );
    return rows;
  }

  async setJobUid(trialId: string, uid: string): Promise<void> {
    await this.db.pool.query('UPDATE trials SET job_uid = $2, updated_at = now() WHERE id = $1', [
      trialId,
      uid,
    ]);
  }

  /** Records new intermediate values (already fed to the search); `state` pruned ends the trial too. */
  async recordIntermediate(
    trialId: string,
    intermediate: { step: number; value: number }[],
    pruned: boolean,
  ): Promise<void> {
    await this.db.pool.query(
      `UPDATE trials SET intermediate = $2, updated_at = now()
         ${pruned ? ", state = 'pruned', finished_at = now(), reason = 'pruned by the search'" : ''}
       WHERE id = $1 AND state = 'running'`,
      [trialId, JSON.stringify(intermediate)],
    );
  }

  /** Ends a running trial; a trial already ended keeps its first outcome (no double count). */
  async finishTrial(
    trialId: string,
    state: Exclude<TrialState, 'running'>,
    value: number | null,
    reason: string | null,
  ): Promise<boolean> {
    const r = await this.db.pool.query(
      `UPDATE trials SET state = $2, value = $3, reason = $4, finished_at = now(), updated_at = now()
       WHERE id = $1 AND state = 'running'`,
      [trialId, state, value, reason],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async setSweepStatus(
    sweepId: string,
    from: SweepStatus[],
    to: SweepStatus,
    message: string | null = null,
  ): Promise<boolean> {
    const done = to === 'completed' || to === 'stopped';
    const r = await this.db.pool.query(
      `UPDATE sweeps SET status = $2, message = COALESCE($3, message), updated_at = now()
         ${done ? ', finished_at = now()' : ''}
       WHERE id = $1 AND status = ANY($4::sweep_status[])`,
      [sweepId, to, message, from],
    );
    return (r.rowCount ?? 0) > 0;
  }
}

/** A trial row as the search library sees it: a trial ended by stopping the sweep counts as failed. */
export function toRecord(t: TrialRow): TrialRecord {
  return {
    number: t.number,
    params: t.params,
    state: t.state === 'stopped' ? 'failed' : t.state,
    ...(t.value === null ? {} : { value: t.value }),
    intermediate: t.intermediate,
  };
}

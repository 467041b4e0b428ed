// A run-scoped API token for a trial's job, written the way the API stores tokens (SHA-256 of a random
// secret in api_tokens), so the trial's Trainer may record metrics to its run and nothing else.
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '@kiln/db';
import type { SweepRow, TrialRow } from './store.js';

export function runTokenIssuer(db: Db) {
  return async (sweep: SweepRow, trial: TrialRow): Promise<string> => {
    const token = `kiln_r_${randomBytes(32).toString('base64url')}`;
    await db.pool.query(
      `INSERT INTO api_tokens (project_id, run_id, name, scope, token_hash) VALUES ($1, $2, $3, 'run', $4)`,
      [
        sweep.projectId,
        trial.runId,
        `sweep ${sweep.name} trial ${trial.number}`,
        createHash('sha256').update(token).digest('hex'),
      ],
    );
    return token;
  };
}

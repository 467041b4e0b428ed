// The project's sweeps, newest first: status, trial counts and the best objective so far.
import Link from 'next/link';
import { get, session } from '@/lib/api';
import { fmtNum, fmtTime } from '@/lib/format';
import type { Sweep } from '@/lib/sweep-types';

export const dynamic = 'force-dynamic';

export default async function SweepsPage() {
  const { project } = await session();
  const { items, total } = await get<{ items: Sweep[]; total: number }>(
    `/projects/${project.id}/sweeps?limit=500`,
  );
  return (
    <>
      <div className="row">
        <h1>Sweeps</h1>
        <Link href="/sweeps/new">New sweep</Link>
      </div>
      <p className="muted" data-testid="sweeps-total">
        {total} sweeps{total > items.length ? ` (the newest ${items.length} shown)` : ''}
      </p>
      <table data-testid="sweeps-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Status</th>
            <th>Objective</th>
            <th>Trials</th>
            <th>Best</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {items.map((s) => (
            <tr key={s.id} data-sweep-id={s.id}>
              <td>
                <Link href={`/sweeps/${s.id}`}>{s.name}</Link>
              </td>
              <td>
                <span className={`status status-${s.status}`}>{s.status}</span>
              </td>
              <td>
                {s.objective.goal} {s.objective.metric}
              </td>
              <td>
                {s.trials.total}
                {s.maxTrials ? ` / ${s.maxTrials}` : ''}
                {s.trials.running ? ` (${s.trials.running} running)` : ''}
              </td>
              <td>{s.best ? `${fmtNum(s.best.value)} (trial ${s.best.number})` : ''}</td>
              <td>{fmtTime(s.createdAt)}</td>
            </tr>
          ))}
          {items.length === 0 && (
            <tr>
              <td colSpan={6} className="muted">
                No sweeps yet. <Link href="/sweeps/new">Create one from YAML</Link> or run{' '}
                <code>kiln sweep create -f sweep.yaml</code>.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </>
  );
}

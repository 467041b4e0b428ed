'use client';
// A sweep's page: status and limits (pause, resume, stop; parallelism and maxTrials editable while it
// is active), the best trial, the charts and the trials table (sortable; sort and the scatter's
// parameter in the URL), kept live over the API's sweep stream.
import Link from 'next/link';
import { usePathname, useSearchParams } from 'next/navigation';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { fmtNum, fmtTime } from '@/lib/format';
import { callKiln, failureMessage } from '@/lib/kiln-client';
import { paramAxes } from '@/lib/sweep-chart-data';
import { SWEEP_ACTIONS, type Sweep, type Trial } from '@/lib/sweep-types';
import { sortTrials } from '@/lib/trial-sort';
import { SweepCharts } from './sweep-charts';
import { SweepLimits } from './sweep-limits';

interface Props {
  initialSweep: Sweep;
  initialTrials: Trial[];
  totalTrials: number;
}

export function SweepView({ initialSweep, initialTrials, totalTrials }: Props) {
  const pathname = usePathname();
  const search = useSearchParams();
  const sort = search.get('sort') || 'number';
  const param = search.get('param') ?? '';
  const [sweep, setSweep] = useState(initialSweep);
  const [trials, setTrials] = useState(initialTrials);
  const [message, setMessage] = useState<string | null>(null);
  const [live, setLive] = useState<'connecting' | 'live' | 'closed'>('connecting');
  const base = `/api/kiln/sweeps/${initialSweep.id}`;

  const setQuery = useCallback(
    (patch: Record<string, string>) => {
      const q = new URLSearchParams(search.toString());
      for (const [k, v] of Object.entries(patch)) {
        if (v) q.set(k, v);
        else q.delete(k);
      }
      const s = q.toString();
      // The history API (Next keeps useSearchParams in step): no server render for a view change.
      window.history.replaceState(null, '', `${pathname}${s ? `?${s}` : ''}`);
    },
    [pathname, search],
  );

  const reload = useCallback(async () => {
    const res = await fetch(base);
    if (res.ok) setSweep((await res.json()) as Sweep);
  }, [base]);

  // Live: trial rows as they change, the sweep (counts, best, status) re-read at most once a second.
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    const es = new EventSource(`${base}/stream`);
    const soon = () => {
      pending.current ??= setTimeout(() => {
        pending.current = null;
        void reload();
      }, 1000);
    };
    es.onopen = () => setLive('live');
    es.onerror = () => setLive(es.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
    es.addEventListener('trial', (e) => {
      const t = JSON.parse((e as MessageEvent).data) as Trial;
      setTrials((cur) => {
        const i = cur.findIndex((x) => x.id === t.id);
        if (i < 0) return [...cur, t];
        const n = [...cur];
        n[i] = t;
        return n;
      });
      soon();
    });
    es.addEventListener('sweep', soon);
    return () => {
      es.close();
      if (pending.current) clearTimeout(pending.current);
    };
  }, [base, reload]);

  async function act(action: 'pause' | 'resume' | 'stop') {
    if (action === 'stop' && !window.confirm(`Stop ${sweep.name}? Its running trials are ended.`)) return;
    setMessage(null);
    const answer = await callKiln(`/sweeps/${sweep.id}/${action}`, 'POST');
    if (answer.ok) setSweep(answer.body as Sweep);
    else setMessage(failureMessage(answer));
  }

  const axes = useMemo(() => paramAxes(trials, sweep.spec.spec.parameters), [trials, sweep.spec]);
  const sorted = useMemo(() => sortTrials(trials, sort), [trials, sort]);
  const { metric, goal } = sweep.objective;
  const best = sweep.best;
  const sortBy = (col: string) => setQuery({ sort: sort === col ? `-${col}` : col === 'number' ? '' : col });
  const ariaSort = (col: string) => (sort === col ? 'ascending' : sort === `-${col}` ? 'descending' : 'none');
  const header = (col: string, label: string) => (
    <th aria-sort={ariaSort(col)} key={col}>
      <button type="button" onClick={() => sortBy(col)} data-sort={col}>
        {label}
        {sort === col ? ' ▲' : sort === `-${col}` ? ' ▼' : ''}
      </button>
    </th>
  );

  return (
    <>
      <div className="row">
        <h1>{sweep.name}</h1>
        <span className={`status status-${sweep.status}`} data-testid="sweep-status">
          {sweep.status}
        </span>
        <span className="muted">
          {goal} {metric} · {sweep.executor} · {live}
        </span>
        <Link href={`/runs?sweep=${sweep.id}&group=sweep`}>its runs</Link>
        {SWEEP_ACTIONS[sweep.status].map((a) => (
          <button key={a} type="button" onClick={() => act(a)} data-action={a}>
            {a[0]!.toUpperCase() + a.slice(1)}
          </button>
        ))}
      </div>
      {sweep.message && <p className="muted">{sweep.message}</p>}
      {message && (
        <p role="alert" className="error">
          {message}
        </p>
      )}
      <section className="panel row" aria-label="Progress and limits">
        <span data-testid="trial-counts">
          {sweep.trials.total} trials{sweep.maxTrials ? ` of ${sweep.maxTrials}` : ''}: {sweep.trials.running}{' '}
          running, {sweep.trials.complete} complete, {sweep.trials.pruned} pruned, {sweep.trials.failed}{' '}
          failed, {sweep.trials.stopped} stopped
        </span>
        <SweepLimits sweep={sweep} onSaved={setSweep} />
      </section>
      <section className="panel" aria-label="Best trial" data-testid="best-trial">
        {best ? (
          <>
            <strong>
              Best: trial {best.number}, {metric} = {fmtNum(best.value)}
            </strong>{' '}
            <span className="muted">
              {Object.entries(best.params)
                .map(([k, v]) => `${k}=${fmtNum(v)}`)
                .join(', ')}
            </span>{' '}
            {best.runId && <Link href={`/runs/${best.runId}`}>its run</Link>}
          </>
        ) : (
          <span className="muted">No trial has completed yet.</span>
        )}
      </section>
      <SweepCharts
        trials={trials}
        goal={goal}
        metric={metric}
        axes={axes}
        param={param}
        onParam={(p) => setQuery({ param: p })}
      />
      <h2>Trials</h2>
      {totalTrials > initialTrials.length && (
        <p className="muted">
          The first {initialTrials.length} of {totalTrials} trials (by number).
        </p>
      )}
      <table data-testid="trials-table">
        <thead>
          <tr>
            {header('number', '#')}
            {header('state', 'State')}
            {header('value', metric)}
            {axes.map((a) => header(`p.${a.name}`, a.name))}
            <th>Run</th>
            <th>Finished</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((t) => (
            <tr key={t.id} data-trial={t.number} className={best?.id === t.id ? 'selected' : undefined}>
              <td>{t.number}</td>
              <td>
                <span className={`status status-${t.state}`} title={t.reason ?? undefined}>
                  {t.state}
                </span>
              </td>
              <td>{fmtNum(t.value)}</td>
              {axes.map((a) => (
                <td key={a.name}>{fmtNum(t.params[a.name])}</td>
              ))}
              <td>{t.runId ? <Link href={`/runs/${t.runId}`}>{t.jobName}</Link> : t.jobName}</td>
              <td>{fmtTime(t.finishedAt)}</td>
            </tr>
          ))}
          {trials.length === 0 && (
            <tr>
              <td colSpan={5 + axes.length} className="muted">
                No trials yet:{' '}
                {sweep.status === 'running'
                  ? `the sweep worker starts up to ${sweep.parallelism} at once (is it running? \`scripts/platform.sh up --cluster\`)`
                  : `the sweep is ${sweep.status}`}
                .
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </>
  );
}

'use client';
// The run page's live part: status, progress and ETA kept current over server-sent events, the chart
// controls (x axis, smoothing, log axes, zoom; all in the URL), one chart per metric, checkpoints and
// the log tail.
import { usePathname, useSearchParams } from 'next/navigation';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { emptyReason } from '@/lib/empty-reason';
import { fmtDuration, fmtNum, fmtTime } from '@/lib/format';
import { parseRunViewState, type RunViewState, runViewQuery } from '@/lib/run-view-state';
import { type Checkpoint, type Run, type SeriesKey, TERMINAL } from '@/lib/types';
import { JobPanel } from './job-panel';
import { LogTail } from './log-tail';
import { MetricChart } from './metric-chart';

interface Props {
  initialRun: Run;
  initialKeys: SeriesKey[];
  initialCheckpoints: Checkpoint[];
}

export function RunView({ initialRun, initialKeys, initialCheckpoints }: Props) {
  const pathname = usePathname();
  const search = useSearchParams();
  const view = useMemo(() => parseRunViewState(new URLSearchParams(search.toString())), [search]);
  const [run, setRun] = useState(initialRun);
  const [keys, setKeys] = useState(initialKeys.map((k) => k.key));
  const [versions, setVersions] = useState<Record<string, number>>({});
  const [checkpoints, setCheckpoints] = useState(initialCheckpoints);
  const [live, setLive] = useState<'connecting' | 'live' | 'closed'>('connecting');

  const setView = useCallback(
    (patch: Partial<RunViewState>) =>
      // The browser's history API (Next keeps useSearchParams in step): the view changes without asking
      // the server to render the page again.
      window.history.replaceState(null, '', `${pathname}${runViewQuery({ ...view, ...patch })}`),
    [pathname, view],
  );

  // Live updates. New points for a key bump its version (its chart re-queries, at most once a second).
  useEffect(() => {
    const es = new EventSource(`/api/kiln/runs/${initialRun.id}/stream`);
    const pending = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      timer = null;
      const ks = [...pending];
      pending.clear();
      setKeys((cur) => (ks.some((k) => !cur.includes(k)) ? [...new Set([...cur, ...ks])].sort() : cur));
      setVersions((v) => {
        const n = { ...v };
        for (const k of ks) n[k] = (n[k] ?? 0) + 1;
        return n;
      });
    };
    es.onopen = () => setLive('live');
    es.onerror = () => setLive(es.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
    es.addEventListener('points', (e) => {
      const u = JSON.parse((e as MessageEvent).data) as { keys: string[] };
      for (const k of u.keys) pending.add(k);
      timer ??= setTimeout(flush, 1000);
    });
    es.addEventListener('status', (e) => {
      const u = JSON.parse((e as MessageEvent).data) as { status: Run['status']; exitReason?: string | null };
      setRun((r) => ({ ...r, status: u.status, exitReason: u.exitReason ?? r.exitReason }));
    });
    es.addEventListener('progress', (e) => {
      const u = JSON.parse((e as MessageEvent).data) as {
        step: number;
        totalSteps: number | null;
        etaSeconds: number | null;
      };
      setRun((r) => ({
        ...r,
        progress: {
          ...r.progress,
          step: u.step,
          totalSteps: u.totalSteps,
          etaSeconds: u.etaSeconds,
          percent: u.totalSteps ? Math.min(100, (u.step / u.totalSteps) * 100) : null,
        },
      }));
    });
    es.addEventListener('checkpoint', () => {
      void fetch(`/api/kiln/runs/${initialRun.id}/checkpoints`)
        .then((r) => (r.ok ? r.json() : null))
        .then((c) => c && setCheckpoints(c as Checkpoint[]));
    });
    return () => {
      es.close();
      if (timer) clearTimeout(timer);
    };
  }, [initialRun.id]);

  const t0 = Date.parse(run.startedAt ?? run.createdAt);
  const onZoom = useCallback((from: number, to: number) => setView({ from, to }), [setView]);
  const p = run.progress;
  const zoomed = view.from !== null || view.to !== null;

  return (
    <>
      <div className="row">
        <h1 style={{ margin: 0 }}>{run.name}</h1>
        <span className={`status status-${run.status}`} data-testid="run-status">
          {run.status}
        </span>
        <span className="muted" data-testid="live-state">
          {TERMINAL.has(run.status) ? '' : live === 'live' ? '● live' : live}
        </span>
      </div>
      {run.exitReason && <p className="error">{run.exitReason}</p>}
      <p className="muted" data-testid="run-progress">
        {p.step !== null && `step ${p.step}${p.totalSteps ? ` of ${p.totalSteps}` : ''}`}
        {p.epoch !== null && ` · epoch ${p.epoch}`}
        {p.percent !== null && ` · ${p.percent.toFixed(1)}%`}
        {p.etaSeconds !== null && !TERMINAL.has(run.status) && ` · ETA ${fmtDuration(p.etaSeconds)}`}
        {` · created ${fmtTime(run.createdAt)}`}
        {run.finishedAt && ` · finished ${fmtTime(run.finishedAt)}`}
      </p>
      {run.job && <JobPanel projectId={run.projectId} name={run.job.name} />}
      {p.percent !== null && (
        <progress max={100} value={p.percent} aria-label="progress" style={{ width: '100%' }} />
      )}

      <fieldset className="row panel" aria-label="Chart settings">
        <label>
          x axis{' '}
          <select value={view.x} onChange={(e) => setView({ x: e.target.value as RunViewState['x'] })}>
            <option value="step">step</option>
            <option value="relative">relative time</option>
            <option value="wall">wall time</option>
          </select>
        </label>
        <label>
          smoothing{' '}
          <input
            type="range"
            min={0}
            max={0.99}
            step={0.01}
            value={view.smoothing}
            onChange={(e) => setView({ smoothing: Number(e.target.value) })}
          />{' '}
          {view.smoothing.toFixed(2)}
        </label>
        <label>
          <input type="checkbox" checked={view.logY} onChange={(e) => setView({ logY: e.target.checked })} />{' '}
          log y
        </label>
        <label>
          <input type="checkbox" checked={view.logX} onChange={(e) => setView({ logX: e.target.checked })} />{' '}
          log x
        </label>
        {zoomed ? (
          <button type="button" onClick={() => setView({ from: null, to: null })}>
            Reset zoom (steps {view.from}–{view.to})
          </button>
        ) : (
          <span className="muted">drag across a chart to zoom</span>
        )}
      </fieldset>

      {keys.length === 0 ? (
        <p className="panel" data-testid="empty-run">
          {emptyReason(run)}
        </p>
      ) : (
        <div className="charts">
          {keys.map((k) => (
            <MetricChart
              key={k}
              runId={run.id}
              seriesKey={k}
              view={view}
              t0={t0}
              version={versions[k] ?? 0}
              onZoom={onZoom}
            />
          ))}
        </div>
      )}

      <h2>Hyperparameters</h2>
      {Object.keys(run.hyperparams ?? {}).length === 0 ? (
        <p className="muted">none recorded</p>
      ) : (
        <table data-testid="hyperparams">
          <tbody>
            {Object.entries(run.hyperparams).map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td>{typeof v === 'object' ? JSON.stringify(v) : fmtNum(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Checkpoints</h2>
      {checkpoints.length === 0 ? (
        <p className="muted">none yet</p>
      ) : (
        <table data-testid="checkpoints">
          <thead>
            <tr>
              <th>step</th>
              <th>epoch</th>
              <th>path</th>
              <th>size</th>
              <th>metrics</th>
              <th>
                <span className="visually-hidden">marks</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {checkpoints.map((c) => (
              <tr key={c.id}>
                <td>{c.step}</td>
                <td>{c.epoch}</td>
                <td>
                  <code>{c.path}</code>
                </td>
                <td>{(c.sizeBytes / 1024).toFixed(1)} KiB</td>
                <td>
                  {Object.entries(c.metrics ?? {})
                    .map(([k, v]) => `${k}=${fmtNum(v)}`)
                    .join(' ')}
                </td>
                <td>
                  {c.isBest && <strong>best </strong>}
                  {c.isLast && <span>last</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Logs</h2>
      <LogTail runId={run.id} live={!TERMINAL.has(run.status)} />
    </>
  );
}

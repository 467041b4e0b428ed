'use client';
// Chosen runs overlaid on shared charts (one per metric key, from the API's compare endpoint, each run
// M4-downsampled), and a table of the hyperparameters that differ between them.
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import { alignByStep } from '@/lib/align';
import { fmtNum } from '@/lib/format';
import type { Run, SeriesPoint } from '@/lib/types';

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

function CompareChart({ projectId, runs, seriesKey }: { projectId: string; runs: Run[]; seriesKey: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<{ points: number[]; error?: string } | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let u: uPlot | null = null;
    const ctl = new AbortController();
    const p = new URLSearchParams({
      runIds: runs.map((r) => r.id).join(','),
      key: seriesKey,
      maxPoints: '2000',
    });
    fetch(`/api/kiln/projects/${projectId}/metrics/compare?${p}`, { signal: ctl.signal })
      .then(async (res) => {
        const body = await res.json();
        if (!res.ok) throw new Error(body.message ?? `the API answered ${res.status}`);
        const series = (body.series as { runId: string; points: SeriesPoint[] }[]).map((s) => s.points);
        const fg = getComputedStyle(document.documentElement).getPropertyValue('--fg').trim() || '#111';
        u = new uPlot(
          {
            width: el.clientWidth || 600,
            height: 240,
            axes: [{ stroke: fg, label: 'step' }, { stroke: fg }],
            series: [
              { label: 'step' },
              ...runs.map((r, i) => ({ label: r.name, stroke: COLORS[i % COLORS.length], spanGaps: true })),
            ],
            cursor: { sync: { key: 'compare' } },
          },
          alignByStep(series) as uPlot.AlignedData,
          el,
        );
        setState({ points: series.map((s) => s.length) });
      })
      .catch((e: Error) => {
        if (e.name !== 'AbortError') setState({ points: [], error: e.message });
      });
    return () => {
      ctl.abort();
      u?.destroy();
    };
  }, [projectId, runs, seriesKey]);
  return (
    <section
      className="chart"
      data-testid="compare-chart"
      data-key={seriesKey}
      data-points={state?.points.join(',') ?? ''}
      data-state={state ? (state.error ? 'error' : 'drawn') : 'loading'}
    >
      <h3>{seriesKey}</h3>
      {state?.error && <p className="error">{state.error}</p>}
      <div ref={box} />
    </section>
  );
}

export function CompareView({ projectId, runs, keys }: { projectId: string; runs: Run[]; keys: string[] }) {
  const hpKeys = [...new Set(runs.flatMap((r) => Object.keys(r.hyperparams ?? {})))].sort();
  const show = (v: unknown) =>
    v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : fmtNum(v);
  const differing = hpKeys.filter(
    (k) => new Set(runs.map((r) => JSON.stringify(r.hyperparams?.[k]))).size > 1,
  );
  return (
    <>
      <h2>Hyperparameters that differ</h2>
      {differing.length === 0 ? (
        <p className="muted">All {hpKeys.length} hyperparameters are the same.</p>
      ) : (
        <table data-testid="hp-diff">
          <thead>
            <tr>
              <th>run</th>
              {differing.map((k) => (
                <th key={k}>{k}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id}>
                <td>{r.name}</td>
                {differing.map((k) => (
                  <td key={k}>{show(r.hyperparams?.[k])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Metrics</h2>
      {keys.length === 0 && <p className="muted">These runs have logged no metrics.</p>}
      <div className="charts">
        {keys.map((k) => (
          <CompareChart key={k} projectId={projectId} runs={runs} seriesKey={k} />
        ))}
      </div>
    </>
  );
}

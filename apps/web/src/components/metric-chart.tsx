'use client';
// One metric's chart: the API's M4-downsampled series (about four points per pixel column, so nothing
// the screen could show is lost), the min/max band of each bucket, the line optionally smoothed. A drag
// asks the page to zoom; the page re-queries every chart for that step range at full resolution.
import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import { chartColumns, type XAxis } from '@/lib/chart-data';
import { fmtNum } from '@/lib/format';
import type { RunViewState } from '@/lib/run-view-state';
import { loadSeries } from '@/lib/series-batch';
import type { Series, SeriesPoint } from '@/lib/types';

const MAX_POINTS_CAP = 4000;

interface Props {
  runId: string;
  seriesKey: string;
  view: RunViewState;
  /** Wall time (ms) that relative time counts from. */
  t0: number;
  /** Bumped when live points for this key arrive. */
  version: number;
  onZoom(fromStep: number, toStep: number): void;
}

function cssVar(name: string, fallback: string): string {
  if (typeof window === 'undefined') return fallback;
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function xLabel(axis: XAxis) {
  return axis === 'step' ? 'step' : axis === 'relative' ? 'seconds since start' : 'wall time';
}

export function MetricChart({ runId, seriesKey, view, t0, version, onZoom }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [data, setData] = useState<(Series & { maxPoints: number }) | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [queries, setQueries] = useState(0);
  const [draws, setDraws] = useState(0);
  const [showTable, setShowTable] = useState(false);
  const zoomRef = useRef(onZoom);
  zoomRef.current = onZoom;
  const pointsRef = useRef<SeriesPoint[]>([]);

  // Query the series for the current range whenever it, the key or the live version changes.
  // biome-ignore lint/correctness/useExhaustiveDependencies: version is a trigger, not read.
  useEffect(() => {
    const width = box.current?.clientWidth || 600;
    const maxPoints = Math.min(MAX_POINTS_CAP, Math.max(400, Math.floor(width) * 4));
    const ctl = new AbortController();
    loadSeries({ runId, key: seriesKey, maxPoints, fromStep: view.from, toStep: view.to }, ctl.signal)
      .then(({ series, maxPoints: asked }) => {
        setError(null);
        setData({ ...series, maxPoints: asked });
        setQueries((n) => n + 1);
      })
      .catch((e: Error) => {
        if (e.name !== 'AbortError') setError(e.message);
      });
    return () => ctl.abort();
  }, [runId, seriesKey, view.from, view.to, version]);

  const cols = useMemo(
    () =>
      data
        ? chartColumns(data.points, {
            axis: view.x,
            t0,
            smoothing: view.smoothing,
            logX: view.logX,
            logY: view.logY,
            maxPoints: data.maxPoints,
            downsampled: data.downsampled,
          })
        : null,
    [data, view.x, view.smoothing, view.logX, view.logY, t0],
  );

  // (Re)build the plot when the axes' kind changes; otherwise only its data is replaced.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fg = cssVar('--fg', '#111');
    const grid = cssVar('--grid', 'rgba(0,0,0,0.08)');
    const accent = cssVar('--accent', '#2563eb');
    const axis = { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid } };
    const u = new uPlot(
      {
        width: el.clientWidth || 600,
        height: 220,
        scales: {
          x: { time: view.x === 'wall', distr: view.logX ? 3 : 1 },
          y: { distr: view.logY ? 3 : 1 },
        },
        axes: [{ ...axis, label: xLabel(view.x) }, { ...axis }],
        series: [
          // Wall time under the cursor to the second (uPlot's default stops at the minute).
          {
            label: xLabel(view.x),
            ...(view.x === 'wall' && { value: '{YYYY}-{MM}-{DD} {h}:{mm}:{ss}{aa}' }),
          },
          { label: 'bucket low', stroke: 'transparent', points: { show: false } },
          { label: 'bucket high', stroke: 'transparent', points: { show: false } },
          { label: seriesKey, stroke: accent, width: 1.5, points: { show: false } },
        ],
        bands: [{ series: [2, 1], fill: `${accent}33` }],
        legend: { show: true, live: true },
        cursor: { sync: { key: `run-${runId}` }, drag: { x: true, y: false, setScale: false } },
        hooks: {
          draw: [() => setDraws((n) => n + 1)],
          setSelect: [
            (u) => {
              if (u.select.width < 3) return;
              const a = u.posToVal(u.select.left, 'x');
              const b = u.posToVal(u.select.left + u.select.width, 'x');
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              // Map the x range back to steps through the points drawn.
              const xs = u.data[0] as number[];
              let lo = Number.POSITIVE_INFINITY;
              let hi = Number.NEGATIVE_INFINITY;
              const pts = pointsRef.current;
              for (let i = 0; i < xs.length; i++) {
                const x = xs[i]!;
                if (x < a || x > b) continue;
                const step = pts[i]?.step;
                if (step === undefined) continue;
                lo = Math.min(lo, step);
                hi = Math.max(hi, step);
              }
              if (view.x === 'step') {
                lo = Math.max(0, Math.ceil(a));
                hi = Math.floor(b);
              }
              if (Number.isFinite(lo) && Number.isFinite(hi) && hi > lo) zoomRef.current(lo, hi);
            },
          ],
        },
      },
      [[], [], [], []],
      el,
    );
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: el.clientWidth || 600, height: 220 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [runId, seriesKey, view.x, view.logX, view.logY]);

  useEffect(() => {
    const u = plot.current;
    if (!u || !cols || !data) return;
    // Points in the same order as the columns (x sorted), for mapping a selection back to steps.
    pointsRef.current =
      view.x === 'step'
        ? data.points.filter((p) => !view.logX || p.step > 0)
        : [...data.points]
            .sort((a, b) => a.time - b.time)
            .filter((p) => !view.logX || (view.x === 'wall' ? p.time : p.time - t0) > 0);
    u.setData([cols.x, cols.lo, cols.hi, cols.line] as uPlot.AlignedData);
  }, [cols, data, view.x, view.logX, t0]);

  const points = data?.points ?? [];
  const empty = data !== null && points.length === 0;
  return (
    <section
      className="chart"
      aria-labelledby={`chart-${seriesKey}`}
      data-testid="metric-chart"
      data-key={seriesKey}
      data-points={cols?.x.length ?? 0}
      data-total={data?.total ?? 0}
      data-downsampled={data?.downsampled ? '1' : '0'}
      data-queries={queries}
      data-draws={draws}
      data-first-step={points[0]?.step ?? ''}
      data-last-step={points[points.length - 1]?.step ?? ''}
      data-state={error ? 'error' : data ? 'drawn' : 'loading'}
    >
      <h3 id={`chart-${seriesKey}`}>{seriesKey}</h3>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {empty && (
        <p className="muted">
          No points{' '}
          {view.from !== null || view.to !== null ? `in steps ${view.from ?? 0}–${view.to ?? '∞'}` : 'yet'}.
        </p>
      )}
      {cols && cols.hidden > 0 && (
        <p className="muted">{cols.hidden} points at or below 0 are not shown on the log axis.</p>
      )}
      <div ref={box} />
      <p className="muted">
        {data
          ? `${points.length} of ${data.total} points${data.downsampled ? ' (M4: each bucket keeps its first, last, min and max)' : ''}`
          : 'loading…'}
      </p>
      <details onToggle={(e) => setShowTable((e.target as HTMLDetailsElement).open)}>
        <summary>Data table</summary>
        {showTable && (
          <div className="sr-table">
            <table data-testid="chart-table">
              <caption>
                {seriesKey}: the {points.length} points drawn
              </caption>
              <thead>
                <tr>
                  <th scope="col">step</th>
                  <th scope="col">value</th>
                  <th scope="col">time</th>
                </tr>
              </thead>
              <tbody>
                {points.map((p) => (
                  <tr key={p.step}>
                    <td>{p.step}</td>
                    <td>{fmtNum(p.value)}</td>
                    <td>{new Date(p.time).toISOString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </details>
    </section>
  );
}

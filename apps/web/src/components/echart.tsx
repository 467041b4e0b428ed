'use client';
// One ECharts chart: made on mount, given a new option when it changes, resized with its box,
// disposed on unmount. data-state="drawn" once ECharts has finished rendering the latest option;
// the chart describes its data for screen readers (ECharts' aria label).
import { useEffect, useRef, useState } from 'react';
import { type EChartsType, init } from '@/lib/echarts';

/** Text and grid colours from the page's theme (CSS variables), so the chart follows dark mode. */
export function themeColors() {
  const s = getComputedStyle(document.documentElement);
  return {
    fg: s.getPropertyValue('--fg').trim() || '#111827',
    muted: s.getPropertyValue('--muted').trim() || '#6b7280',
    grid: s.getPropertyValue('--grid').trim() || 'rgba(0,0,0,0.08)',
    accent: s.getPropertyValue('--accent').trim() || '#2563eb',
  };
}

export type ThemeColors = ReturnType<typeof themeColors>;

/** The theme's colours, updated when the page's data-theme changes. */
function useThemeColors(): ThemeColors | null {
  const [colors, setColors] = useState<ThemeColors | null>(null);
  useEffect(() => {
    setColors(themeColors());
    const obs = new MutationObserver(() => setColors(themeColors()));
    obs.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    return () => obs.disconnect();
  }, []);
  return colors;
}

export function EChart({
  testId,
  label,
  points,
  option,
  height = 300,
}: {
  testId: string;
  label: string;
  /** How many data points the option holds (data-points, for tests and the empty message). */
  points: number;
  option: (c: ThemeColors) => Record<string, unknown>;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<EChartsType | null>(null);
  const [state, setState] = useState<'loading' | 'drawn'>('loading');
  const colors = useThemeColors();

  useEffect(() => {
    const el = box.current!;
    const c = init(el, null, { renderer: 'svg' });
    chart.current = c;
    c.on('finished', () => setState('drawn'));
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    if (!chart.current || !colors) return;
    setState('loading');
    chart.current.setOption(
      {
        aria: { enabled: true, label: { data: { maxCount: 1000 } } },
        textStyle: { color: colors.fg },
        animation: false,
        ...option(colors),
      },
      { notMerge: true },
    );
  }, [option, colors]);

  return (
    <figure className="chart" data-testid={testId} data-state={state} data-points={points}>
      <figcaption>
        <h3>{label}</h3>
      </figcaption>
      <div ref={box} style={{ width: '100%', height }} />
    </figure>
  );
}

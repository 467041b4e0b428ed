'use client';
// The sweep's three charts: objective over trials with the best so far, parallel coordinates of the
// parameters and the objective, and the objective against one parameter (chosen; kept in the URL).
import { useCallback, useMemo } from 'react';
import { fmtNum } from '@/lib/format';
import { axisValue, bestSoFar, type Goal, type ParamAxis, scored } from '@/lib/sweep-chart-data';
import type { Trial } from '@/lib/sweep-types';
import { EChart, type ThemeColors } from './echart';

const axisStyle = (c: ThemeColors) => ({
  axisLine: { lineStyle: { color: c.muted } },
  splitLine: { lineStyle: { color: c.grid } },
  nameTextStyle: { color: c.fg },
  axisLabel: { color: c.fg },
});

const axisType = (a: ParamAxis) => (a.kind === 'category' ? 'category' : a.kind);

interface Props {
  trials: Trial[];
  goal: Goal;
  metric: string;
  axes: ParamAxis[];
  param: string;
  onParam: (name: string) => void;
}

export function SweepCharts({ trials, goal, metric, axes, param, onParam }: Props) {
  const done = useMemo(() => scored(trials), [trials]);
  const values = done.map((t) => t.value);
  const lo = values.length ? Math.min(...values) : 0;
  const hi = values.length ? Math.max(...values) : 1;
  // Best trials drawn warm, worst cold, whichever way the goal points.
  const ramp = useMemo(
    () => (goal === 'minimize' ? ['#16a34a', '#eab308', '#dc2626'] : ['#dc2626', '#eab308', '#16a34a']),
    [goal],
  );
  const chosen = axes.find((a) => a.name === param) ?? axes[0];

  const objective = useCallback(
    (c: ThemeColors) => ({
      grid: { left: 64, right: 16, top: 36, bottom: 40 },
      tooltip: { trigger: 'item', valueFormatter: (v: number) => fmtNum(v) },
      legend: { top: 0, right: 8, textStyle: { color: c.fg } },
      xAxis: {
        type: 'value',
        name: 'trial',
        nameLocation: 'middle',
        nameGap: 26,
        minInterval: 1,
        ...axisStyle(c),
      },
      yAxis: { type: 'value', name: metric, scale: true, ...axisStyle(c) },
      series: [
        { type: 'scatter', name: metric, data: done.map((t) => [t.number, t.value]), symbolSize: 7 },
        {
          type: 'line',
          name: 'best so far',
          step: 'end',
          showSymbol: false,
          data: bestSoFar(trials, goal),
          lineStyle: { color: c.accent, width: 2 },
          itemStyle: { color: c.accent },
        },
      ],
    }),
    [trials, goal, metric, done],
  );

  const parallel = useCallback(
    (c: ThemeColors) => ({
      parallel: { left: 48, right: 96, top: 40, bottom: 28 },
      parallelAxis: [
        ...axes.map((a, i) => ({
          dim: i,
          name: a.name,
          type: axisType(a),
          ...(a.kind === 'category' ? { data: a.categories } : { scale: true }),
          ...axisStyle(c),
        })),
        { dim: axes.length, name: metric, type: 'value', scale: true, ...axisStyle(c) },
      ],
      visualMap: {
        type: 'continuous',
        dimension: axes.length,
        min: lo,
        max: hi === lo ? lo + 1 : hi,
        inRange: { color: ramp },
        right: 0,
        top: 'middle',
        itemHeight: 120,
        textStyle: { color: c.fg },
        calculable: false,
      },
      series: [
        {
          type: 'parallel',
          name: 'trials',
          lineStyle: { width: 1.5, opacity: 0.7 },
          data: done.map((t) => [...axes.map((a) => axisValue(a, t.params[a.name])), t.value]),
        },
      ],
    }),
    [axes, metric, done, lo, hi, ramp],
  );

  const scatter = useCallback(
    (c: ThemeColors) => ({
      grid: { left: 64, right: 16, top: 24, bottom: 44 },
      tooltip: { trigger: 'item' },
      xAxis: {
        type: chosen ? axisType(chosen) : 'value',
        name: chosen?.name ?? '',
        nameLocation: 'middle',
        nameGap: 28,
        ...(chosen?.kind === 'category' ? { data: chosen.categories } : { scale: true }),
        ...axisStyle(c),
      },
      yAxis: { type: 'value', name: metric, scale: true, ...axisStyle(c) },
      series: [
        {
          type: 'scatter',
          name: `${metric} by ${chosen?.name ?? ''}`,
          symbolSize: 8,
          data: chosen ? done.map((t) => [axisValue(chosen, t.params[chosen.name]), t.value]) : [],
          itemStyle: { color: c.accent },
        },
      ],
    }),
    [chosen, metric, done],
  );

  if (!done.length)
    return (
      <p className="muted" data-testid="sweep-charts-empty">
        No trial has an objective value yet: charts appear when the first trial completes
        {trials.length ? ` (${trials.length} trials started, none complete)` : ' (no trials started yet)'}.
      </p>
    );
  return (
    <div className="charts">
      <EChart testId="objective-chart" label={`${metric} by trial`} points={done.length} option={objective} />
      {axes.length > 0 && (
        <EChart
          testId="parallel-chart"
          label="Parameters and objective"
          points={done.length}
          option={parallel}
        />
      )}
      {chosen && (
        <div>
          <label className="row">
            Parameter{' '}
            <select aria-label="Parameter" value={chosen.name} onChange={(e) => onParam(e.target.value)}>
              {axes.map((a) => (
                <option key={a.name} value={a.name}>
                  {a.name}
                </option>
              ))}
            </select>
          </label>
          <EChart
            testId="param-scatter"
            label={`${metric} by ${chosen.name}`}
            points={done.length}
            option={scatter}
          />
        </div>
      )}
    </div>
  );
}

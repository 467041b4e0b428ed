// How `kiln sweep status` shows a sweep: a summary line, then its trials as a table, best first.
import { table } from '../output.js';

export interface TrialView {
  number: number;
  state: string;
  params: Record<string, number | string | boolean>;
  value: number | null;
  intermediate: { step: number; value: number }[];
  reason: string | null;
}

export interface SweepView {
  id: string;
  name: string;
  status: string;
  executor: string;
  objective: { metric: string; goal: string };
  maxTrials: number | null;
  parallelism: number;
  trials: {
    total: number;
    running: number;
    complete: number;
    pruned: number;
    failed: number;
    stopped: number;
  };
  best: TrialView | null;
}

const fmt = (v: unknown): string =>
  typeof v === 'number' ? (Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString()) : String(v);

export function sweepSummary(s: SweepView): string {
  const t = s.trials;
  const best = s.best
    ? `best #${s.best.number} ${s.objective.metric}=${fmt(s.best.value)}`
    : 'no complete trial yet';
  return (
    `sweep/${s.name}   ${s.status}   trials ${t.total}/${s.maxTrials ?? 'grid'} (parallelism ${s.parallelism}): ` +
    `${t.running} running, ${t.complete} complete, ${t.pruned} pruned, ${t.failed} failed` +
    `${t.stopped ? `, ${t.stopped} stopped` : ''}   ${best}\n`
  );
}

export function trialTable(s: SweepView, trials: TrialView[]): string {
  const names = [...new Set(trials.flatMap((t) => Object.keys(t.params)))].sort();
  return table(
    ['TRIAL', 'STATE', s.objective.metric.toUpperCase(), ...names.map((n) => n.toUpperCase()), 'REPORTS'],
    trials.map((t) => [
      String(t.number),
      t.state,
      t.value === null ? '-' : fmt(t.value),
      ...names.map((n) => (t.params[n] === undefined ? '-' : fmt(t.params[n]))),
      String(t.intermediate.length),
    ]),
  );
}

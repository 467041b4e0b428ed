import Table from 'cli-table3';

/**
 * `profiler: 'simple'`: wall time per action (hooks, step phases). Timings use the monotonic clock; the
 * report is a table sorted by total time.
 */
export class SimpleProfiler {
  private readonly stats = new Map<string, { count: number; total: number; max: number }>();
  private readonly open = new Map<string, number>();
  private readonly started = performance.now();

  start(action: string): void {
    this.open.set(action, performance.now());
  }

  stop(action: string): void {
    const t0 = this.open.get(action);
    if (t0 === undefined) return;
    this.open.delete(action);
    this.record(action, performance.now() - t0);
  }

  record(action: string, ms: number): void {
    const s = this.stats.get(action);
    if (s) {
      s.count++;
      s.total += ms;
      if (ms > s.max) s.max = ms;
    } else this.stats.set(action, { count: 1, total: ms, max: ms });
  }

  summary(): { action: string; count: number; totalMs: number; meanMs: number; maxMs: number }[] {
    return [...this.stats.entries()]
      .map(([action, s]) => ({
        action,
        count: s.count,
        totalMs: s.total,
        meanMs: s.total / s.count,
        maxMs: s.max,
      }))
      .sort((a, b) => b.totalMs - a.totalMs);
  }

  /** The report as a table; percentages are of the wall time since the profiler was created. */
  report(): string {
    const wall = performance.now() - this.started;
    const table = new Table({
      head: ['Action', 'Mean (ms)', 'Max (ms)', 'Calls', 'Total (s)', '% of run'],
      colAligns: ['left', 'right', 'right', 'right', 'right', 'right'],
      style: { head: [], border: [] },
    });
    for (const r of this.summary()) {
      table.push([
        r.action,
        r.meanMs.toFixed(3),
        r.maxMs.toFixed(3),
        String(r.count),
        (r.totalMs / 1000).toFixed(3),
        ((100 * r.totalMs) / wall).toFixed(1),
      ]);
    }
    return `Profiler report (wall ${(wall / 1000).toFixed(2)} s)\n${table.toString()}`;
  }
}

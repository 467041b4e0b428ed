'use client';
// The runs table: filters and sort change the URL (the server fetches that page from the API); j/k or
// arrow keys move the selection, Enter opens the run, x marks it for comparison, / focuses the filter.
// Grouped by sweep, the page's runs sit under their sweep's heading (in the order the sort gave the
// first run of each), runs of no sweep last.
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Fragment, useEffect, useMemo, useRef, useState } from 'react';
import { fmtNum, fmtTime } from '@/lib/format';
import { PAGE_SIZES, type RunsView, runsHref } from '@/lib/runs-query';
import { RUN_STATUSES, type Run } from '@/lib/types';

function cell(run: Run, col: string): unknown {
  if (col.startsWith('hp.')) return run.hyperparams?.[col.slice(3)];
  if (col.startsWith('metric.')) return run.progress.metrics?.[col.slice(7)];
  return undefined;
}

/** The page's runs in display order: as sorted, or grouped by sweep. */
export function groupBySweep(runs: Run[]): { sweepId: string | null; runs: Run[] }[] {
  const groups = new Map<string | null, Run[]>();
  for (const r of runs) {
    const list = groups.get(r.sweepId) ?? [];
    list.push(r);
    groups.set(r.sweepId, list);
  }
  const out = [...groups].map(([sweepId, rs]) => ({ sweepId, runs: rs }));
  return [...out.filter((g) => g.sweepId !== null), ...out.filter((g) => g.sweepId === null)];
}

export function RunsTable({
  view,
  runs: pageRuns,
  total,
  sweepNames = {},
}: {
  view: RunsView;
  runs: Run[];
  total: number;
  sweepNames?: Record<string, string>;
}) {
  const groups = useMemo(
    () => (view.group === 'sweep' ? groupBySweep(pageRuns) : [{ sweepId: null, runs: pageRuns }]),
    [view.group, pageRuns],
  );
  const runs = useMemo(() => groups.flatMap((g) => g.runs), [groups]);
  const router = useRouter();
  const [selected, setSelected] = useState(0);
  const [marked, setMarked] = useState<Set<string>>(new Set());
  const [name, setName] = useState(view.name);
  const [where, setWhere] = useState(view.where);
  const filterRef = useRef<HTMLInputElement>(null);
  const go = (patch: Partial<RunsView>) => router.push(runsHref(view, { page: 1, ...patch }));

  const available = useMemo(() => {
    const s = new Set<string>();
    for (const r of runs) {
      for (const k of Object.keys(r.hyperparams ?? {})) s.add(`hp.${k}`);
      for (const k of Object.keys(r.progress.metrics ?? {})) s.add(`metric.${k}`);
    }
    for (const c of view.cols) s.add(c);
    return [...s].sort();
  }, [runs, view.cols]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t.closest('input, select, textarea')) return;
      if (e.key === '/') {
        e.preventDefault();
        filterRef.current?.focus();
      } else if (e.key === 'j' || e.key === 'ArrowDown') {
        e.preventDefault();
        setSelected((i) => Math.min(runs.length - 1, i + 1));
      } else if (e.key === 'k' || e.key === 'ArrowUp') {
        e.preventDefault();
        setSelected((i) => Math.max(0, i - 1));
      } else if (e.key === 'Enter' && runs[selected]) {
        router.push(`/runs/${runs[selected].id}`);
      } else if (e.key === 'x' && runs[selected]) {
        const id = runs[selected].id;
        setMarked((m) => {
          const n = new Set(m);
          if (n.has(id)) n.delete(id);
          else n.add(id);
          return n;
        });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [runs, selected, router]);

  const sortBy = (col: string) => go({ sort: view.sort === col ? `-${col}` : col });
  const arrow = (col: string) => (view.sort === col ? ' ▲' : view.sort === `-${col}` ? ' ▼' : '');
  const ariaSort = (col: string) =>
    view.sort === col ? 'ascending' : view.sort === `-${col}` ? 'descending' : 'none';
  const pages = Math.max(1, Math.ceil(total / view.size));
  const header = (col: string, label: string) => (
    <th aria-sort={ariaSort(col)} key={col}>
      <button type="button" onClick={() => sortBy(col)} data-sort={col}>
        {label}
        {arrow(col)}
      </button>
    </th>
  );

  return (
    <div>
      <form
        className="row"
        aria-label="Filter runs"
        onSubmit={(e) => {
          e.preventDefault();
          go({ name, where: where.trim() });
        }}
      >
        <label>
          Name{' '}
          <input
            ref={filterRef}
            name="name"
            value={name}
            placeholder="contains… (press /)"
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <label>
          Conditions{' '}
          <input
            name="where"
            value={where}
            size={36}
            placeholder="hp.lr>=0.001; metric.val/loss<0.5"
            aria-describedby="where-help"
            onChange={(e) => setWhere(e.target.value)}
          />
          <span id="where-help" className="visually-hidden">
            Conditions on hyperparameters (hp.name) and latest metrics (metric.name) with = != &lt; &lt;= &gt;
            &gt;=, separated by semicolons
          </span>
        </label>
        <label>
          Status{' '}
          <select name="status" value={view.status} onChange={(e) => go({ status: e.target.value })}>
            <option value="">any</option>
            {RUN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label className="row">
          <input
            type="checkbox"
            name="group"
            checked={view.group === 'sweep'}
            onChange={(e) => go({ group: e.target.checked ? 'sweep' : '' })}
          />
          Group by sweep
        </label>
        {view.sweep && (
          <span data-testid="sweep-filter">
            sweep {sweepNames[view.sweep] ?? view.sweep}{' '}
            <Link href={runsHref(view, { page: 1, sweep: '' })} aria-label="Show runs of every sweep">
              ×
            </Link>
          </span>
        )}
        <button type="submit">Filter</button>
        <details>
          <summary>Columns</summary>
          <fieldset className="panel">
            <legend>Hyperparameters and latest metrics</legend>
            {available.length === 0 && <span className="muted">none on this page</span>}
            {available.map((c) => (
              <label key={c} className="row">
                <input
                  type="checkbox"
                  checked={view.cols.includes(c)}
                  onChange={(e) =>
                    router.push(
                      runsHref(view, {
                        cols: e.target.checked ? [...view.cols, c] : view.cols.filter((x) => x !== c),
                      }),
                    )
                  }
                />
                {c}
              </label>
            ))}
          </fieldset>
        </details>
        {marked.size > 0 && (
          <Link href={`/compare?runs=${[...marked].join(',')}`}>Compare {marked.size} runs</Link>
        )}
      </form>
      <p className="muted" data-testid="runs-total">
        {total} runs · page {view.page} of {pages}
      </p>
      <table data-testid="runs-table">
        <thead>
          <tr>
            <th>
              <span className="visually-hidden">Compare</span>
            </th>
            {header('name', 'Name')}
            {header('status', 'Status')}
            {header('createdAt', 'Created')}
            {header('step', 'Step')}
            {view.cols.map((c) => header(c, c))}
          </tr>
        </thead>
        <tbody>
          {groups.map((g) => (
            <Fragment key={g.sweepId ?? 'none'}>
              {view.group === 'sweep' && (
                <tr className="group" data-group={g.sweepId ?? 'none'}>
                  <th colSpan={5 + view.cols.length}>
                    {g.sweepId ? (
                      <>
                        Sweep <Link href={`/sweeps/${g.sweepId}`}>{sweepNames[g.sweepId] ?? g.sweepId}</Link>
                        {' · '}
                        <Link href={runsHref(view, { page: 1, sweep: g.sweepId })}>only its runs</Link>
                      </>
                    ) : (
                      'No sweep'
                    )}
                    <span className="muted"> · {g.runs.length} on this page</span>
                  </th>
                </tr>
              )}
              {g.runs.map((r) => {
                const i = runs.indexOf(r);
                return (
                  <tr key={r.id} className={i === selected ? 'selected' : undefined} data-run-id={r.id}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`compare ${r.name}`}
                        checked={marked.has(r.id)}
                        onChange={() =>
                          setMarked((m) => {
                            const n = new Set(m);
                            if (n.has(r.id)) n.delete(r.id);
                            else n.add(r.id);
                            return n;
                          })
                        }
                      />
                    </td>
                    <td>
                      <Link href={`/runs/${r.id}`}>{r.name}</Link>
                    </td>
                    <td>
                      <span className={`status status-${r.status}`}>{r.status}</span>
                    </td>
                    <td>{fmtTime(r.createdAt)}</td>
                    <td>
                      {r.progress.step ?? ''}
                      {r.progress.totalSteps ? ` / ${r.progress.totalSteps}` : ''}
                    </td>
                    {view.cols.map((c) => (
                      <td key={c}>{fmtNum(cell(r, c))}</td>
                    ))}
                  </tr>
                );
              })}
            </Fragment>
          ))}
          {runs.length === 0 && (
            <tr>
              <td colSpan={5 + view.cols.length} className="muted">
                No runs match these filters.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <nav className="row" aria-label="Pages">
        {view.page > 1 && <Link href={runsHref(view, { page: view.page - 1 })}>← Previous</Link>}
        {view.page < pages && <Link href={runsHref(view, { page: view.page + 1 })}>Next →</Link>}
        <label>
          Per page{' '}
          <select value={view.size} onChange={(e) => go({ size: Number(e.target.value) })}>
            {PAGE_SIZES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </nav>
    </div>
  );
}

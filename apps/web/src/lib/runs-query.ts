// The runs table's view state, kept in the URL: status, name, sweep, sort, page, page size, chosen
// columns and grouping.
export interface RunsView {
  status: string;
  name: string;
  /** Conditions on hyperparameters and latest metrics, e.g. `hp.lr>=0.01;metric.val/loss<0.5`. */
  where: string;
  /** Only this sweep's runs (its id). */
  sweep: string;
  /** `sweep`: the page's runs grouped under their sweeps. */
  group: '' | 'sweep';
  sort: string;
  page: number;
  size: number;
  cols: string[];
}

export const PAGE_SIZES = [25, 50, 100, 200];

export function parseRunsView(q: Record<string, string | string[] | undefined>): RunsView {
  const one = (k: string) => (Array.isArray(q[k]) ? q[k][0] : q[k]) ?? '';
  const page = Number.parseInt(one('page'), 10);
  const size = Number.parseInt(one('size'), 10);
  return {
    status: one('status'),
    name: one('name'),
    where: one('where'),
    sweep: /^[0-9a-f-]{36}$/i.test(one('sweep')) ? one('sweep') : '',
    group: one('group') === 'sweep' ? 'sweep' : '',
    sort: one('sort') || '-createdAt',
    page: Number.isFinite(page) && page > 0 ? page : 1,
    size: PAGE_SIZES.includes(size) ? size : 50,
    cols: one('cols')
      .split(',')
      .map((c) => c.trim())
      .filter((c) => /^(hp|metric)\.[^,]{1,200}$/.test(c)),
  };
}

export function runsHref(v: RunsView, patch: Partial<RunsView> = {}): string {
  const n = { ...v, ...patch };
  const p = new URLSearchParams();
  if (n.status) p.set('status', n.status);
  if (n.name) p.set('name', n.name);
  if (n.where) p.set('where', n.where);
  if (n.sweep) p.set('sweep', n.sweep);
  if (n.group) p.set('group', n.group);
  if (n.sort !== '-createdAt') p.set('sort', n.sort);
  if (n.page !== 1) p.set('page', String(n.page));
  if (n.size !== 50) p.set('size', String(n.size));
  if (n.cols.length) p.set('cols', n.cols.join(','));
  const s = p.toString();
  return s ? `/runs?${s}` : '/runs';
}

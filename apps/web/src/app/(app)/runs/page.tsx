// The project's runs: filtered, sorted and paged by the API (never all runs in the browser), so the page
// costs the same at 10 runs or 10,000. View state lives in the URL.
import { RunsTable } from '@/components/runs-table';
import { ApiError, get, session } from '@/lib/api';
import { parseRunsView } from '@/lib/runs-query';
import type { Sweep } from '@/lib/sweep-types';
import type { Run } from '@/lib/types';

export const dynamic = 'force-dynamic';

export default async function RunsPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const view = parseRunsView(await searchParams);
  const { project } = await session();
  const p = new URLSearchParams({
    limit: String(view.size),
    offset: String((view.page - 1) * view.size),
    sort: view.sort,
  });
  if (view.status) p.set('status', view.status);
  if (view.name) p.set('name', view.name);
  if (view.where) p.set('where', view.where);
  if (view.sweep) p.set('sweepId', view.sweep);
  let data: { items: Run[]; total: number } = { items: [], total: 0 };
  let error: string | null = null;
  try {
    data = await get(`/projects/${project.id}/runs/search?${p}`);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 400) throw e;
    // The API names the bad field (query.where[1], query.sort): shown above the table, nothing lost.
    error = e.message;
  }
  // Sweep names for the group headings and the sweep filter (one request, the newest 500 sweeps).
  const sweepNames: Record<string, string> = {};
  if (view.group === 'sweep' || view.sweep) {
    const sweeps = await get<{ items: Sweep[] }>(`/projects/${project.id}/sweeps?limit=500`);
    for (const s of sweeps.items) sweepNames[s.id] = s.name;
  }
  return (
    <>
      <h1>Runs</h1>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <RunsTable view={view} runs={data.items} total={data.total} sweepNames={sweepNames} />
    </>
  );
}

// Compare runs: ?runs=<id>,<id>,… (pick them with the checkboxes or x in the runs table).
import Link from 'next/link';
import { CompareView } from '@/components/compare-view';
import { ApiError, get, session } from '@/lib/api';
import type { Run, SeriesKey } from '@/lib/types';

export const dynamic = 'force-dynamic';

export default async function ComparePage({ searchParams }: { searchParams: Promise<{ runs?: string }> }) {
  const { project } = await session();
  const ids = [...new Set((await searchParams).runs?.split(',').filter(Boolean) ?? [])];
  if (ids.length < 2)
    return (
      <>
        <h1>Compare runs</h1>
        <p>
          Pick two or more runs in the <Link href="/runs">runs table</Link> (tick them, or press x on a row).
        </p>
      </>
    );
  if (ids.length > 20)
    return (
      <p role="alert" className="error">
        runs: at most 20 runs can be compared, got {ids.length}
      </p>
    );
  let runs: Run[];
  let keys: SeriesKey[][];
  try {
    runs = await Promise.all(ids.map((id) => get<Run>(`/runs/${encodeURIComponent(id)}`)));
    keys = await Promise.all(
      ids.map((id) => get<SeriesKey[]>(`/runs/${encodeURIComponent(id)}/metrics/keys`)),
    );
  } catch (e) {
    if (e instanceof ApiError && e.status < 500)
      return (
        <p role="alert" className="error">
          runs: {e.message}
        </p>
      );
    throw e;
  }
  const allKeys = [...new Set(keys.flat().map((k) => k.key))].sort();
  return (
    <>
      <h1>Compare {runs.length} runs</h1>
      <CompareView projectId={project.id} runs={runs} keys={allKeys} />
    </>
  );
}

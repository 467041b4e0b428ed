// A run: loaded on the server (run, metric keys, checkpoints), then kept live in the browser. An inline
// script starts the charts' first series request as soon as the browser reads it, before the page's
// scripts have loaded (lib/series-batch.ts).
import { notFound } from 'next/navigation';
import { Suspense } from 'react';
import { RunView } from '@/components/run-view';
import { ApiError, get } from '@/lib/api';
import { parseRunViewState } from '@/lib/run-view-state';
import { earlySeriesScript } from '@/lib/series-batch';
import type { Checkpoint, Run, SeriesKey } from '@/lib/types';

export const dynamic = 'force-dynamic';

export default async function RunPage({
  params,
  searchParams,
}: {
  params: Promise<{ runId: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { runId } = await params;
  let data: [Run, SeriesKey[], Checkpoint[]];
  try {
    data = await Promise.all([
      get<Run>(`/runs/${encodeURIComponent(runId)}`),
      get<SeriesKey[]>(`/runs/${encodeURIComponent(runId)}/metrics/keys`),
      get<Checkpoint[]>(`/runs/${encodeURIComponent(runId)}/checkpoints`),
    ]);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 400 || e.status === 403)) notFound();
    throw e;
  }
  const [run, keys, checkpoints] = data;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(await searchParams)) if (typeof v === 'string') q.set(k, v);
  const view = parseRunViewState(q);
  const early = earlySeriesScript(
    run.id,
    keys.map((k) => k.key),
    view.from,
    view.to,
  );
  return (
    <Suspense>
      {keys.length > 0 && (
        // biome-ignore lint/security/noDangerouslySetInnerHtml: our own script; the keys are JSON-escaped.
        <script dangerouslySetInnerHTML={{ __html: early }} />
      )}
      <RunView initialRun={run} initialKeys={keys} initialCheckpoints={checkpoints} />
    </Suspense>
  );
}

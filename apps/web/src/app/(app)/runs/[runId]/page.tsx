// A run: loaded on the server (run, metric keys, checkpoints), then kept live in the browser.
import { notFound } from 'next/navigation';
import { Suspense } from 'react';
import { RunView } from '@/components/run-view';
import { ApiError, get } from '@/lib/api';
import type { Checkpoint, Run, SeriesKey } from '@/lib/types';

export const dynamic = 'force-dynamic';

export default async function RunPage({ params }: { params: Promise<{ runId: string }> }) {
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
  return (
    <Suspense>
      <RunView initialRun={run} initialKeys={keys} initialCheckpoints={checkpoints} />
    </Suspense>
  );
}

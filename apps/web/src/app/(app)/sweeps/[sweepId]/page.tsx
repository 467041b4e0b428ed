// A sweep: loaded on the server (the sweep and its trials), then kept live in the browser.
import { notFound } from 'next/navigation';
import { SweepView } from '@/components/sweep-view';
import { ApiError, get } from '@/lib/api';
import type { Sweep, Trial } from '@/lib/sweep-types';

export const dynamic = 'force-dynamic';

/** The API's largest page of trials; the page says when a sweep has more. */
const TRIALS_LIMIT = 1000;

export default async function SweepPage({ params }: { params: Promise<{ sweepId: string }> }) {
  const { sweepId } = await params;
  let data: [Sweep, { items: Trial[]; total: number }];
  try {
    const id = encodeURIComponent(sweepId);
    data = await Promise.all([
      get<Sweep>(`/sweeps/${id}`),
      get<{ items: Trial[]; total: number }>(`/sweeps/${id}/trials?sort=number&limit=${TRIALS_LIMIT}`),
    ]);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 400 || e.status === 403)) notFound();
    throw e;
  }
  const [sweep, trials] = data;
  return <SweepView initialSweep={sweep} initialTrials={trials.items} totalTrials={trials.total} />;
}

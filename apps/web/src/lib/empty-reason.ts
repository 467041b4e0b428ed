// Why a run has no metric points, in words (an empty page with no explanation is the complaint).
import type { Run } from './types';

export function emptyReason(run: Run): string {
  switch (run.status) {
    case 'pending':
    case 'queued':
      return `This run is ${run.status}: it has not started, so nothing has been logged yet.`;
    case 'starting':
    case 'restarting':
      return `This run is ${run.status}: its workers are coming up; points appear when the trainer first logs.`;
    case 'running':
      return 'This run is running but has not logged a metric yet; points appear here as they arrive.';
    case 'suspended':
      return 'This run is suspended and logged no metric before it was.';
    case 'failed':
      return `This run failed before logging any metric${run.exitReason ? `: ${run.exitReason}` : '.'}`;
    case 'cancelled':
      return 'This run was cancelled before logging any metric.';
    case 'succeeded':
      return 'This run finished without logging any metric (no self.log calls, or logging was turned off).';
  }
}

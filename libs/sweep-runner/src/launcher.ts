// Where trials run: TrainingJobs on a cluster (the sweep worker's KubeLauncher) or `kiln fit` processes
// on this machine (local-launcher.ts). The reconcile pass only sees this interface.
import type { SweepRow, TrialRow } from './store.js';

export type TrialPhase = 'running' | 'succeeded' | 'failed';

export interface LaunchedTrial {
  uid: string;
  phase: TrialPhase;
  /** Why it failed, when it did. */
  message?: string;
}

export interface TrialLauncher {
  /** The sweep's launched trials by number (one LIST on a cluster). */
  list(sweep: SweepRow): Promise<Map<number, LaunchedTrial>>;
  /** Starts the trial; starting one that exists returns the existing one's uid. */
  start(sweep: SweepRow, trial: TrialRow): Promise<string>;
  /** Stops and removes the trial's job; nothing to stop is fine. */
  stop(sweep: SweepRow, trial: TrialRow): Promise<void>;
}

/** How a run ended, as loggers record it. */
export type RunStatus = 'success' | 'failed' | 'interrupted';

export interface CheckpointInfo {
  path: string;
  step: number;
  epoch: number;
  sizeBytes: number;
  sha256: string;
  metrics: Record<string, number>;
  isBest: boolean;
  isLast: boolean;
}

export interface Progress {
  step: number;
  totalSteps: number | null;
  epoch: number;
  etaSeconds: number | null;
  metrics: Record<string, number>;
}

/**
 * What the Trainer tells its loggers before the first call (`Logger.setup`). The Trainer passes the same
 * object to all of its loggers, so file loggers with the same root and name share one `version_<n>` folder.
 */
export interface LoggerContext {
  /** The Trainer's `defaultRootDir`: file loggers without their own `saveDir` write under it. */
  defaultRootDir: string;
  /** False on every rank but 0; loggers then write nothing. */
  isGlobalZero: boolean;
}

/**
 * What the Trainer talks to for every experiment tracker: files on disk, TensorBoard, the platform.
 * Only rank 0 calls a logger. Calls are fire-and-forget except `finalize`, which must flush.
 */
export interface Logger {
  readonly name: string;
  /** Called once by the Trainer before any other call. */
  setup?(ctx: LoggerContext): void | Promise<void>;
  /** Where a file logger writes (`<root>/<name>/version_<n>`); undefined on ranks that do not write. */
  readonly logDir?: string | undefined;
  /** Metrics by key (`train/loss`, `val/acc`) at a global step. */
  logMetrics(metrics: Record<string, number>, step: number): void | Promise<void>;
  logHyperparams(params: Record<string, unknown>): void | Promise<void>;
  logCheckpoint?(info: CheckpointInfo): void | Promise<void>;
  logProgress?(progress: Progress): void | Promise<void>;
  /** Flushes everything buffered; called once when the run ends. */
  finalize(status: RunStatus): Promise<void>;
}

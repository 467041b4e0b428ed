// Each error carries the exit code its rank leaves with, from the worker contract (@kiln/spec EXIT_CODE):
// peerLost (75) when the job itself is fine but a peer went away, so the gang restarts from the last
// checkpoint; configError (78) when a restart cannot fix it.
import { EXIT_CODE } from '@kiln/spec';

/** A rank (or the rendezvous store on rank 0) went away; every collective after this rejects. */
export class PeerLostError extends Error {
  readonly code = 'KILN_PEER_LOST';
  readonly exitCode = EXIT_CODE.peerLost;
  constructor(
    readonly lostRank: number,
    readonly detectedBy: number,
    reason: string,
  ) {
    super(`DDP peer lost: rank ${lostRank} is gone (${reason}); detected by rank ${detectedBy}`);
    this.name = 'PeerLostError';
  }
}

/**
 * A collective did not finish within the collective timeout: a peer is alive as far as TCP can tell
 * but stopped (SIGSTOP, a debugger), hung, or never called the collective. Retryable like a lost peer:
 * a restarted gang resumes from the last checkpoint.
 */
export class CollectiveTimeoutError extends Error {
  readonly code = 'KILN_DDP_COLLECTIVE_TIMEOUT';
  readonly exitCode = EXIT_CODE.peerLost;
  constructor(
    /** The ranks the group was waiting on. */
    readonly waitingOn: number[],
    /** e.g. "allReduce #57" */
    readonly collective: string,
    readonly detectedBy: number,
    timeoutMs: number,
    /** Why each of those ranks held the group up, from a probe of every rank through the store. */
    detail: string,
  ) {
    super(
      `DDP collective timed out: ${collective} did not finish within ${timeoutMs / 1000}s on rank ${detectedBy}, ` +
        `waiting on rank${waitingOn.length === 1 ? '' : 's'} ${waitingOn.join(', ')} (${detail}); ` +
        'KILN_DDP_COLLECTIVE_TIMEOUT_S sets how long a collective may wait',
    );
    this.name = 'CollectiveTimeoutError';
  }
}

/** Why a process group stopped working; every pending and later collective rejects with it. */
export type GroupFailure = PeerLostError | CollectiveTimeoutError;

/** Not every rank arrived at the rendezvous in time. Retryable: pods may still be scheduling. */
export class RendezvousTimeoutError extends Error {
  readonly code = 'KILN_RENDEZVOUS_TIMEOUT';
  readonly exitCode = EXIT_CODE.peerLost;
  constructor(
    readonly missingRanks: number[],
    worldSize: number,
    timeoutMs: number,
    where: string,
  ) {
    super(
      `DDP rendezvous at ${where} timed out after ${timeoutMs / 1000}s: ` +
        `rank${missingRanks.length === 1 ? '' : 's'} ${missingRanks.join(', ')} of ${worldSize} never arrived`,
    );
    this.name = 'RendezvousTimeoutError';
  }
}

/** The distributed setup is wrong in a way a restart cannot fix. */
export class DistributedConfigError extends Error {
  readonly code = 'KILN_DDP_CONFIG';
  readonly exitCode = EXIT_CODE.configError;
  constructor(message: string) {
    super(message);
    this.name = 'DistributedConfigError';
  }
}

/** Ranks disagree about which collective comes next (user code called them in different orders). */
export class CollectiveMismatchError extends DistributedConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'CollectiveMismatchError';
  }
}

/** The exit code a process should end with for an error thrown by training. */
export function exitCodeFor(err: unknown): number {
  const code = (err as { exitCode?: unknown } | null)?.exitCode;
  return typeof code === 'number' && Number.isInteger(code) && code > 0 && code < 256 ? code : 1;
}

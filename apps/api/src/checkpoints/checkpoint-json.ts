// A checkpoint as the API answers it.
import type { Checkpoint } from '@kiln/db';

export function checkpointJson(c: Checkpoint) {
  return {
    id: c.id,
    runId: c.runId,
    step: Number(c.step),
    epoch: c.epoch,
    path: c.path,
    sizeBytes: Number(c.sizeBytes),
    sha256: c.sha256,
    metrics: c.metrics,
    isBest: c.isBest,
    isLast: c.isLast,
    createdAt: c.createdAt,
  };
}

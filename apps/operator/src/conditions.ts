// Phases and their conditions. Each phase has a condition of the same type; entering a phase sets its
// condition True (with a fresh lastTransitionTime: the gang timeout and the restart backoff are measured
// from it, which keeps that state in the object and not in the operator's memory) and the others False.
import type { Condition, TrainingJobPhase } from '@kiln/spec';

export const PHASE_CONDITIONS: readonly TrainingJobPhase[] = [
  'Queued',
  'Starting',
  'Running',
  'Restarting',
  'Suspended',
  'Succeeded',
  'Failed',
];

export function findCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Milliseconds since `type` last became True, or undefined if it is not True. */
export function trueSince(
  conditions: Condition[] | undefined,
  type: string,
  now: number,
): number | undefined {
  const c = findCondition(conditions, type);
  if (c?.status !== 'True') return undefined;
  return now - Date.parse(c.lastTransitionTime);
}

export function enterPhase(
  conditions: Condition[] | undefined,
  phase: TrainingJobPhase,
  reason: string,
  message: string,
  now: Date,
  generation?: number,
): Condition[] {
  const time = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const entered: Condition = {
    type: phase,
    status: 'True',
    reason,
    message,
    lastTransitionTime: time,
    observedGeneration: generation,
  };
  const out: Condition[] = [];
  for (const c of conditions ?? []) {
    if (c.type === phase) out.push(entered);
    else if (c.status === 'True' && PHASE_CONDITIONS.includes(c.type as TrainingJobPhase)) {
      // Kept as a record of the last time the job was in that phase, and why.
      out.push({ ...c, status: 'False', lastTransitionTime: time, observedGeneration: generation });
    } else out.push(c);
  }
  if (!out.includes(entered)) out.push(entered);
  return out;
}

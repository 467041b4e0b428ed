// Structured JSON logs (pino): one line per event, fields rather than prose, so they can be queried.
import { pino } from 'pino';

/** The operator's own diagnostic log (not the Trainer's experiment loggers). */
export type Log = pino.Logger;

export function createLog(level = process.env.KILN_LOG_LEVEL ?? 'info'): Log {
  return pino({ level, base: { component: 'kiln-operator' } });
}

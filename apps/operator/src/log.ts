// Structured JSON logs (pino): one line per event, fields rather than prose, so they can be queried.
import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(level = process.env.KILN_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { component: 'kiln-operator' } });
}

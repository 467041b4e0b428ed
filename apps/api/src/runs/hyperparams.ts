// Hyperparameters are a run's settings, not its data: KILN_MAX_HYPERPARAM_BYTES of JSON at most, so a
// run list stays a small response.
import { badRequest } from '../http/validation.js';

export function checkHyperparams(h: unknown, maxBytes: number, path: string): void {
  const bytes = h === undefined ? 0 : Buffer.byteLength(JSON.stringify(h));
  if (bytes > maxBytes)
    throw badRequest([
      { path, message: `at most ${maxBytes} bytes of JSON (KILN_MAX_HYPERPARAM_BYTES), got ${bytes}` },
    ]);
}

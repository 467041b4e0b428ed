// Reading a process's settings from its environment: one rule for every Kiln process (API, sweep worker),
// so a bad value is refused the same way everywhere, naming the variable, instead of becoming NaN.

/** A positive integer setting: unset or empty gives `fallback`; anything else must be one. */
export function positiveIntEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n <= 0)
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

// Operator settings from command-line flags (`--name=value`) or environment (KILN_OPERATOR_NAME).
// A bad value is an error that names the setting and what was expected.
import { defaultOperatorOptions, type OperatorOptions } from './controller.js';

type NumericKey = Exclude<
  { [K in keyof OperatorOptions]-?: OperatorOptions[K] extends number ? K : never }[keyof OperatorOptions],
  undefined
>;
type StringKey =
  | 'healthHost'
  | 'leaseNamespace'
  | 'leaseName'
  | 'identity'
  | 'checkpointRoot'
  | 'trackingUrl';

const NUMERIC: Record<string, { key: NumericKey; min: number; scale: number }> = {
  concurrency: { key: 'concurrency', min: 1, scale: 1 },
  'health-port': { key: 'healthPort', min: 0, scale: 1 },
  'master-port': { key: 'masterPort', min: 1, scale: 1 },
  'progress-port': { key: 'progressPort', min: 1, scale: 1 },
  'lease-duration-seconds': { key: 'leaseDurationSeconds', min: 1, scale: 1 },
  'lease-retry-period-seconds': { key: 'leaseRetryPeriodMs', min: 0.05, scale: 1000 },
  'restart-backoff-seconds': { key: 'restartBackoffMs', min: 0, scale: 1000 },
  'max-restart-backoff-seconds': { key: 'maxRestartBackoffMs', min: 0, scale: 1000 },
  'progress-interval-seconds': { key: 'progressIntervalMs', min: 0.1, scale: 1000 },
  'elastic-cooldown-seconds': { key: 'elasticCooldownMs', min: 0, scale: 1000 },
  'pod-grace-period-seconds': { key: 'podGracePeriodSeconds', min: 0, scale: 1 },
};
const STRING: Record<string, StringKey> = {
  'health-host': 'healthHost',
  'lease-namespace': 'leaseNamespace',
  'lease-name': 'leaseName',
  identity: 'identity',
  'checkpoint-root': 'checkpointRoot',
  'tracking-url': 'trackingUrl',
};

export const SETTINGS = [...Object.keys(NUMERIC), ...Object.keys(STRING)];

export function parseSettings(argv: string[], env: NodeJS.ProcessEnv): OperatorOptions {
  const raw = new Map<string, string>();
  for (const name of SETTINGS) {
    const value = env[`KILN_OPERATOR_${name.toUpperCase().replaceAll('-', '_')}`];
    if (value !== undefined) raw.set(name, value);
  }
  for (const arg of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    const [, name, value] = m ?? [];
    if (name === undefined || value === undefined || !SETTINGS.includes(name)) {
      throw new Error(
        `unknown argument ${JSON.stringify(arg)}; expected --name=value with name one of: ${SETTINGS.join(', ')}`,
      );
    }
    raw.set(name, value);
  }
  const options: OperatorOptions = { ...defaultOperatorOptions };
  for (const [name, value] of raw) {
    const numeric = NUMERIC[name];
    if (numeric) {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || n < numeric.min) {
        throw new Error(`${name}: expected a number ≥ ${numeric.min}, got ${JSON.stringify(value)}`);
      }
      options[numeric.key] = Math.round(n * numeric.scale);
    } else {
      const key = STRING[name]!;
      if (value === '') throw new Error(`${name}: expected a non-empty string`);
      options[key] = value;
    }
  }
  return options;
}

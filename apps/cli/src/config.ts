import { readFileSync } from 'node:fs';
import type { TrainerOptions } from '@kiln/trainer';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { UsageError } from './errors.js';

/** A `--config` file: Trainer options, hyperparameters and where to resume from. */
export interface RunConfig {
  trainer?: TrainerOptions;
  hparams?: Record<string, unknown>;
  ckptPath?: string;
}

const SECTIONS = new Set(['trainer', 'hparams', 'ckptPath']);

export function loadConfig(path: string): RunConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--config ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new UsageError(
      `--config ${path}: not valid YAML: ${err instanceof YAMLParseError ? err.message : String(err)}`,
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new UsageError(`--config ${path}: expected a mapping with trainer:, hparams:, ckptPath:`);
  for (const key of Object.keys(doc)) {
    if (!SECTIONS.has(key))
      throw new UsageError(`--config ${path}: unknown key "${key}" (expected trainer, hparams, ckptPath)`);
  }
  const c = doc as Record<string, unknown>;
  for (const key of ['trainer', 'hparams'] as const) {
    const v = c[key];
    if (v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v))) {
      throw new UsageError(`--config ${path}: "${key}" must be a mapping, got ${JSON.stringify(v)}`);
    }
  }
  if (c.ckptPath !== undefined && typeof c.ckptPath !== 'string') {
    throw new UsageError(`--config ${path}: "ckptPath" must be a string (last, best or a path)`);
  }
  return {
    trainer: (c.trainer ?? {}) as TrainerOptions,
    hparams: (c.hparams ?? {}) as Record<string, unknown>,
    ckptPath: c.ckptPath as string | undefined,
  };
}

/** `--hparam lr=0.01 --hparam model.depth=4`: values parsed as YAML scalars, dotted keys nest. */
export function parseHparamFlags(items: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--hparam expects key=value, got "${item}"`);
    const keys = item.slice(0, eq).split('.');
    const raw = item.slice(eq + 1);
    let value: unknown;
    try {
      value = parseYaml(raw);
    } catch {
      value = raw;
    }
    let node = out;
    for (const k of keys.slice(0, -1)) {
      if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
      node = node[k] as Record<string, unknown>;
    }
    node[keys.at(-1)!] = value;
  }
  return out;
}

/** Deep merge for hyperparameters: later sources override earlier ones key by key. */
export function mergeHparams(...sources: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const src of sources) {
    for (const [k, v] of Object.entries(src)) {
      const prev = out[k];
      out[k] =
        v &&
        typeof v === 'object' &&
        !Array.isArray(v) &&
        prev &&
        typeof prev === 'object' &&
        !Array.isArray(prev)
          ? mergeHparams(prev as Record<string, unknown>, v as Record<string, unknown>)
          : v;
    }
  }
  return out;
}

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ENV, RESUME_AUTO } from '@kiln/spec';
import type { Module } from '../core/module.js';
import type { TrainerOptions } from '../trainer/options.js';
import { type DataSource, Trainer } from '../trainer/trainer.js';

/**
 * What a training script receives, however it is started (`kiln fit`, plain `node`, a DDP rank, a pod):
 * hyperparameters, Trainer options from flags/config, and where to resume from.
 */
export interface ScriptContext {
  hparams: Record<string, unknown>;
  /** spread these over the script's own defaults: `new Trainer({ maxEpochs: 5, ...trainerOptions })` */
  trainerOptions: TrainerOptions;
  /** 'last' when the platform restarted the run (KILN_RESUME=auto) or `--ckpt-path` was given; else null */
  ckptPath: string | null;
}

/** A script's default export: a function of the context, or factories the runner calls `fit` with. */
export type ScriptEntry =
  | ((ctx: ScriptContext) => unknown)
  | { run(ctx: ScriptContext): unknown }
  | {
      module(hparams: Record<string, unknown>): Module | Promise<Module>;
      data(hparams: Record<string, unknown>): DataSource | Promise<DataSource>;
      /** the script's defaults; flags and config override them */
      trainer?: TrainerOptions;
    };

/** Runs a script's default export with a context; returns what the script returned. */
export async function runScriptEntry(
  entry: unknown,
  ctx: ScriptContext,
  where = 'the script',
): Promise<unknown> {
  if (typeof entry === 'function') return await (entry as (c: ScriptContext) => unknown)(ctx);
  if (entry !== null && typeof entry === 'object') {
    const e = entry as Record<string, unknown>;
    if (typeof e.run === 'function') return await (e.run as (c: ScriptContext) => unknown).call(entry, ctx);
    if (typeof e.module === 'function' && typeof e.data === 'function') {
      const module = (await (e.module as (h: unknown) => Module)(ctx.hparams)) as Module;
      const data = (await (e.data as (h: unknown) => DataSource)(ctx.hparams)) as DataSource;
      const trainer = new Trainer({
        ...((e.trainer as TrainerOptions | undefined) ?? {}),
        ...ctx.trainerOptions,
      });
      await trainer.fit(module, data, { ckptPath: ctx.ckptPath });
      return trainer;
    }
  }
  throw new Error(
    `${where} must export default a function (ctx) => …, an object with run(ctx), or { module(hparams), data(hparams), trainer? }; got ${entry === undefined ? 'no default export' : typeof entry}`,
  );
}

/** The context from the environment alone: KILN_HPARAMS, KILN_TRAINER_OPTIONS (JSON) and KILN_RESUME. */
export function contextFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): ScriptContext {
  return {
    hparams: parseJsonObject(env[ENV.hparams], ENV.hparams),
    trainerOptions: parseJsonObject(env[ENV.trainerOptions], ENV.trainerOptions) as TrainerOptions,
    ckptPath: env[ENV.ckptPath] || (env[ENV.resume] === RESUME_AUTO ? 'last' : null),
  };
}

export function parseJsonObject(text: string | undefined, name: string): Record<string, unknown> {
  if (text === undefined || text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`${name} must be a JSON object: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new Error(`${name} must be a JSON object, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

/**
 * Marks a script's entry and, when the file is run directly (`node train.ts`), runs it with the context
 * from the environment. Under `kiln fit` the CLI imports the file and calls the entry itself.
 *
 *   export default defineScript(import.meta.url, async ({ hparams, trainerOptions, ckptPath }) => { … });
 */
export function defineScript<E extends ScriptEntry>(moduleUrl: string, entry: E): E {
  if (isMainModule(moduleUrl) && process.env[ENV.cli] !== '1') {
    setImmediate(() => {
      runScriptEntry(entry, contextFromEnv(), fileURLToPath(moduleUrl)).catch((err: unknown) => {
        process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exit(1);
      });
    });
  }
  return entry;
}

function isMainModule(moduleUrl: string): boolean {
  const argv1 = process.argv[1];
  if (!argv1 || !moduleUrl.startsWith('file:')) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

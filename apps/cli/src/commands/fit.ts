import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
// types only at load time: @kiln/trainer (tfjs and all) is imported when a script actually runs, so
// --help and usage errors answer at once
import type { ScriptContext } from '@kiln/trainer';
import { type Command, Option } from 'commander';
import { loadConfig, mergeHparams, parseHparamFlags } from '../config.js';
import { UsageError } from '../errors.js';
import { addTrainerFlags, trainerOptionsFromFlags } from '../trainer-flags.js';

/** Builds the context a script gets: config < KILN_HPARAMS < --hparam; config < flags for Trainer options. */
export async function buildContext(
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ScriptContext> {
  const { contextFromEnv, parseJsonObject, validateTrainerOptions } = await import('@kiln/trainer');
  const config = typeof values.config === 'string' ? loadConfig(values.config) : {};
  const trainerOptions = { ...(config.trainer ?? {}), ...trainerOptionsFromFlags(values) };
  try {
    validateTrainerOptions(trainerOptions);
  } catch (err) {
    if ((err as Error).name === 'TrainerOptionError') throw new UsageError((err as Error).message);
    throw err;
  }
  let envHparams: Record<string, unknown>;
  try {
    envHparams = parseJsonObject(env.KILN_HPARAMS, 'KILN_HPARAMS');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const hparams = mergeHparams(
    config.hparams ?? {},
    envHparams,
    parseHparamFlags((values.hparam as string[]) ?? []),
  );
  const ckptPath = (values.ckptPath as string | undefined) ?? config.ckptPath ?? contextFromEnv(env).ckptPath;
  return { hparams, trainerOptions, ckptPath };
}

export async function runFit(script: string, values: Record<string, unknown>): Promise<void> {
  const path = resolve(script);
  if (!existsSync(path)) throw new UsageError(`script not found: ${script} (looked for ${path})`);
  if (!statSync(path).isFile()) throw new UsageError(`script is not a file: ${path}`);
  if (!/\.(ts|mts|js|mjs)$/.test(path))
    throw new UsageError(`script must be a .ts, .mts, .js or .mjs file: ${path}`);
  const ctx = await buildContext(values);
  const { runScriptEntry } = await import('@kiln/trainer');
  process.env.KILN_CLI = '1'; // defineScript(): do not also self-run
  const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  await runScriptEntry(mod.default, ctx, script);
}

export function fitCommand(program: Command): Command {
  const cmd = program
    .command('fit')
    .description('run a training script (its default export gets { hparams, trainerOptions, ckptPath })')
    .argument('<script>', 'the training script (.ts or .js)')
    .option('--config <file>', 'YAML with trainer:, hparams: and ckptPath:')
    .addOption(
      new Option(
        '--hparam <key=value>',
        'a hyperparameter (repeatable; overrides KILN_HPARAMS and the config)',
      ).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]),
    )
    .option('--ckpt-path <path>', "resume from 'last', 'best' or a checkpoint file");
  addTrainerFlags(cmd);
  cmd.action(async (script: string, values: Record<string, unknown>) => {
    await runFit(script, values);
  });
  return cmd;
}

import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
// types only at load time: @kiln/trainer (tfjs and all) is imported when a script actually runs, so
// --help and usage errors answer at once
import { ENV } from '@kiln/spec';
import type { ScriptContext } from '@kiln/trainer';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, mergeHparams, parseHparamFlags } from '../config.js';
import { UsageError } from '../errors.js';
import { addTrackingFlags, resolveTracking, type TrackingFlags } from '../tracking.js';
import { addTrainerFlags, trainerOptionsFromFlags } from '../trainer-flags.js';

/** Builds the context a script gets: config < KILN_HPARAMS < --hparam; config < flags for Trainer options. */
export async function buildContext(
  values: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>> = process.env,
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
    envHparams = parseJsonObject(env[ENV.hparams], ENV.hparams);
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
  // --track: checked against the API first; the environment it yields reaches the ranks too
  const tracking = await resolveTracking(values as TrackingFlags, script);
  if (tracking) {
    delete process.env[ENV.runId]; // a new run in the project, not one named by the environment
    Object.assign(process.env, tracking);
    // said once: by the launcher under --devices N, or by the single process
    if (process.env[ENV.worldSize] === undefined) {
      process.stderr.write(
        `kiln: recording this run as "${tracking[ENV.runName]}" in project ${tracking[ENV.project]} at ${tracking[ENV.trackingUrl]}\n`,
      );
    }
  }
  // DDP launcher (distributed): with --devices N / --num-nodes M and no WORLD_SIZE yet, this process
  // becomes the launcher and starts the ranks, each of which re-runs this same command line.
  if (await launchRanksIfAsked(values)) return;
  const path = resolve(script);
  if (!existsSync(path)) throw new UsageError(`script not found: ${script} (looked for ${path})`);
  if (!statSync(path).isFile()) throw new UsageError(`script is not a file: ${path}`);
  if (!/\.(ts|mts|js|mjs)$/.test(path))
    throw new UsageError(`script must be a .ts, .mts, .js or .mjs file: ${path}`);
  const ctx = await buildContext(values);
  const { runScriptEntry } = await import('@kiln/trainer');
  process.env[ENV.cli] = '1'; // defineScript(): do not also self-run
  // The compiled kiln starts without SWC (loading it costs seconds); a TypeScript script brings it in.
  if (
    /\.m?ts$/.test(path) &&
    !(globalThis as unknown as Record<symbol, unknown>)[Symbol.for('kiln.typescriptLoader')]
  ) {
    // SWC reads SWC_NODE_PROJECT, else ./tsconfig.json: a script's own project decides how it compiles
    // and resolves (`.js` imports of `.ts` files), wherever kiln is started from.
    const tsconfig = process.env.SWC_NODE_PROJECT ?? nearestTsconfig(dirname(path));
    if (tsconfig) process.env.SWC_NODE_PROJECT = tsconfig;
    await import(new URL('../loader.mjs', import.meta.url).href);
  }
  const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  await runScriptEntry(mod.default, ctx, script);
  // DDP (distributed): say goodbye to the other ranks before main() exits the process.
  const { leaveProcessGroups } = await import('@kiln/trainer');
  await leaveProcessGroups();
}

/** DDP launcher (distributed): spawns the local ranks and exits with the group's exit code. */
async function launchRanksIfAsked(values: Record<string, unknown>): Promise<boolean> {
  const devices = values.devices === 'auto' ? 1 : Number(values.devices ?? 1);
  const numNodes = Number(values.numNodes ?? 1);
  if ((devices <= 1 && numNodes <= 1) || process.env[ENV.worldSize] !== undefined) return false;
  const { launch } = await import('@kiln/trainer');
  const result = await launch({
    script: process.argv[1] as string,
    args: process.argv.slice(2),
    execArgv: process.execArgv,
    devices,
    numNodes,
    nodeRank: values.nodeRank === undefined ? 0 : Number(values.nodeRank),
    masterAddr: values.masterAddr as string | undefined,
    masterPort: values.masterPort === undefined ? undefined : Number(values.masterPort),
  }).catch((err: Error) => {
    throw err.name === 'DistributedConfigError' ? new UsageError(err.message) : err;
  });
  process.exit(result.exitCode);
}

/** DDP launcher flags (distributed); --devices and --num-nodes are Trainer flags. */
function addLaunchFlags(cmd: Command): void {
  const int = (name: string) => (v: string) => {
    if (!/^\d+$/.test(v))
      throw new InvalidArgumentError(`${name}: expected a non-negative integer, got "${v}"`);
    return Number(v);
  };
  cmd
    .addOption(
      new Option('--node-rank <n>', "this machine's index among --num-nodes (DDP)").argParser(
        int('--node-rank'),
      ),
    )
    .option('--master-addr <host>', 'host of node 0, where rank 0 hosts the rendezvous (DDP)')
    .addOption(
      new Option('--master-port <port>', 'rendezvous port on node 0 (DDP)').argParser(int('--master-port')),
    );
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
  addLaunchFlags(cmd);
  addTrackingFlags(cmd);
  cmd.action(async (script: string, values: Record<string, unknown>) => {
    await runFit(script, values);
  });
  return cmd;
}

/** The tsconfig.json in `dir` or the nearest folder above it; undefined when there is none. */
export function nearestTsconfig(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const candidate = join(d, 'tsconfig.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(d) === d) return undefined;
  }
}

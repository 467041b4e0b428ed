import type { TrainerOptions } from '@kiln/trainer';
import { type Command, InvalidArgumentError, Option } from 'commander';

type Kind = 'int' | 'number' | 'bool' | 'string' | 'duration' | 'intOrAuto';

/** Trainer options settable from the command line (the rest — callbacks, loggers — need code). */
const FLAGS: [keyof TrainerOptions, Kind, string][] = [
  ['accelerator', 'string', 'cpu | gpu | auto'],
  ['backend', 'string', 'tensorflow | wasm | cpu | auto'],
  ['intraOpThreads', 'int', 'threads inside one op'],
  ['interOpThreads', 'int', 'ops run concurrently'],
  ['devices', 'intOrAuto', 'processes per node (DDP when > 1)'],
  ['numNodes', 'int', 'machines'],
  ['strategy', 'string', 'auto | single | ddp'],
  ['maxEpochs', 'int', 'stop after this many epochs (-1: no limit)'],
  ['minEpochs', 'int', 'train at least this many epochs'],
  ['maxSteps', 'int', 'stop after this many optimizer steps (-1: no limit)'],
  ['minSteps', 'int', 'train at least this many steps'],
  ['maxTime', 'duration', 'wall-clock budget: DD:HH:MM:SS or seconds'],
  ['limitTrainBatches', 'number', 'batches per epoch (int) or fraction'],
  ['limitValBatches', 'number', 'validation batches (int) or fraction'],
  ['limitTestBatches', 'number', 'test batches (int) or fraction'],
  ['limitPredictBatches', 'number', 'predict batches (int) or fraction'],
  ['fastDevRun', 'int', 'run n batches of everything once, write nothing'],
  ['overfitBatches', 'number', 'train and validate on these first batches'],
  ['valCheckInterval', 'number', 'validate every fraction of an epoch or every n batches'],
  ['checkValEveryNEpoch', 'int', 'validate every n epochs'],
  ['numSanityValSteps', 'int', 'validation batches run before training (-1: all)'],
  ['logEveryNSteps', 'int', 'send step metrics to loggers every n steps'],
  ['accumulateGradBatches', 'int', 'batches per optimizer step'],
  ['gradientClipVal', 'number', 'clip gradients to this bound'],
  ['gradientClipAlgorithm', 'string', 'norm | value'],
  ['deterministic', 'bool', 'seed every random source'],
  ['seed', 'int', 'the seed'],
  ['enableCheckpointing', 'bool', 'save checkpoints (default on)'],
  ['enableProgressBar', 'bool', 'show progress (default on)'],
  ['enableModelSummary', 'bool', 'print the model summary (default on)'],
  ['defaultRootDir', 'string', 'where logs and checkpoints go'],
  ['barebones', 'bool', 'the bare loop, for overhead measurement'],
  ['profiler', 'string', "'simple': a table of time per hook and step phase"],
  ['detectAnomaly', 'bool', 'fail at the first non-finite loss'],
  ['precision', 'string', "'32' | '16-mixed' | 'bf16-mixed' (checked against the backend)"],
  ['compile', 'bool', 'run each training step as one TensorFlow function (tensorflow backend)'],
];

export const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function parser(kind: Kind): ((v: string) => unknown) | undefined {
  switch (kind) {
    case 'int':
      return (v) => {
        if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`expected an integer, got "${v}"`);
        return Number(v);
      };
    case 'intOrAuto':
      return (v) => {
        if (v === 'auto') return v;
        if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`expected an integer or "auto", got "${v}"`);
        return Number(v);
      };
    case 'number':
      return (v) => {
        const n = Number(v);
        if (v.trim() === '' || !Number.isFinite(n))
          throw new InvalidArgumentError(`expected a number, got "${v}"`);
        return n;
      };
    case 'duration':
      return (v) => (/^\d+(\.\d+)?$/.test(v) ? Number(v) : v);
    default:
      return undefined;
  }
}

export function addTrainerFlags(cmd: Command): Command {
  for (const [name, kind, help] of FLAGS) {
    const flag = kebab(name);
    if (kind === 'bool') {
      cmd.addOption(new Option(`--${flag}`, help));
      cmd.addOption(new Option(`--no-${flag}`, `turn off ${flag}`));
      continue;
    }
    const opt = new Option(`--${flag} <value>`, help);
    const p = parser(kind);
    if (p) opt.argParser(p);
    cmd.addOption(opt);
  }
  return cmd;
}

/** The Trainer options among parsed commander values (only those given). */
export function trainerOptionsFromFlags(values: Record<string, unknown>): TrainerOptions {
  const out: Record<string, unknown> = {};
  for (const [name] of FLAGS) if (values[name] !== undefined) out[name] = values[name];
  return out as TrainerOptions;
}

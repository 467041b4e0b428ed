// What the examples share: an Experiment (name, default hyperparameters, Trainer defaults, model and
// data factories) and `runExample`, which the scripts' default exports call with the context `kiln fit`
// builds (hyperparameters from --config < KILN_HPARAMS < --hparam, Trainer options from flags, the
// checkpoint to resume from). The run lives in `kiln_logs/<name>` (own checkpoints/) unless the flags
// set defaultRootDir; CSV and TensorBoard logs go to `<defaultRootDir>/version_<n>`.
import { join } from 'node:path';
import {
  CSVLogger,
  type DataModule,
  type Module,
  seedEverything,
  TensorBoardLogger,
  Trainer,
  type TrainerOptions,
} from '@kiln/trainer';

export interface Experiment<H extends Record<string, unknown>> {
  /** The run goes to `kiln_logs/<name>` unless the caller sets defaultRootDir. */
  name: string;
  /** Default hyperparameters; the context's hparams override any of them (same type required). */
  hparams: H;
  /** Trainer defaults of this example (a function: callbacks hold state, so each run gets new ones). */
  trainer(hparams: H): TrainerOptions;
  model(hparams: H): Module;
  data(hparams: H): DataModule;
}

/** The part of `kiln fit`'s ScriptContext an example uses; every field may be left out. */
export interface RunContext {
  hparams?: Record<string, unknown>;
  trainerOptions?: TrainerOptions;
  ckptPath?: string | null;
}

/** Defaults ← given, keeping each default's type: an unknown key or a wrong type names the key. */
export function resolveHparams<H extends Record<string, unknown>>(
  defaults: H,
  given: Record<string, unknown> = {},
): H {
  const out: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(given)) {
    if (!(key in defaults)) {
      throw new Error(`hyperparameter ${key}: unknown (known: ${Object.keys(defaults).join(', ')})`);
    }
    if (typeof value !== typeof defaults[key]) {
      throw new Error(
        `hyperparameter ${key}: expected a ${typeof defaults[key]}, got ${JSON.stringify(value)}`,
      );
    }
    out[key] = value;
  }
  return out as H;
}

/** Fits the example, then tests it when the data module has a test split. Returns the Trainer. */
export async function runExample<H extends Record<string, unknown>>(
  exp: Experiment<H>,
  ctx: RunContext = {},
): Promise<Trainer> {
  const hparams = resolveHparams(exp.hparams, ctx.hparams);
  const options = ctx.trainerOptions ?? {};
  const defaults = exp.trainer(hparams);
  const trainer = new Trainer({
    defaultRootDir: join('kiln_logs', exp.name),
    logger: [new CSVLogger({ name: '' }), new TensorBoardLogger({ name: '' })],
    ...defaults,
    ...options,
  });
  // seed before the model draws its initial weights (the Trainer seeds again when fit starts)
  const { seed, deterministic } = trainer.options;
  if (seed !== undefined || deterministic) seedEverything(seed ?? 0);
  const model = exp.model(hparams);
  const data = exp.data(hparams);
  await trainer.fit(model, data, { ckptPath: ctx.ckptPath ?? null });
  // 'stopped': a limit such as maxSteps or EarlyStopping ended the run, which still deserves a test
  if (data.testDataloader && (trainer.status === 'finished' || trainer.status === 'stopped')) {
    await trainer.test(model, data);
  }
  return trainer;
}

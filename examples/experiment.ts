// The shape every example exports, and how it runs when started directly (`node … train.ts`): default
// hyperparameters merged with KILN_HPARAMS (the JSON the platform delivers), a Trainer whose
// defaultRootDir is `kiln_logs/<name>` (so each example keeps its own checkpoints/), CSV and TensorBoard
// loggers writing to `<defaultRootDir>/version_<n>`, then fit and, when the data has a test split, test.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CSVLogger,
  type DataModule,
  ModelCheckpoint,
  type Module,
  TensorBoardLogger,
  Trainer,
  type TrainerOptions,
} from '@kiln/trainer';

export interface Experiment<H extends Record<string, unknown>> {
  /** Experiment name: the run goes to `kiln_logs/<name>` unless the caller sets defaultRootDir. */
  name: string;
  /** Default hyperparameters; KILN_HPARAMS (JSON) overrides any of them. */
  hparams: H;
  /** Trainer defaults of this example (a function: callbacks hold state, so each run gets new ones). */
  trainer(hparams: H): TrainerOptions;
  model(hparams: H): Module;
  data(hparams: H): DataModule;
}

/** Defaults ← KILN_HPARAMS, keeping each default's type (a string where a number belongs is an error). */
export function resolveHparams<H extends Record<string, unknown>>(
  defaults: H,
  env = process.env.KILN_HPARAMS,
): H {
  if (!env) return { ...defaults };
  let given: unknown;
  try {
    given = JSON.parse(env);
  } catch (err) {
    throw new Error(
      `KILN_HPARAMS: expected a JSON object, got ${JSON.stringify(env)} (${(err as Error).message})`,
    );
  }
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new Error(`KILN_HPARAMS: expected a JSON object, got ${env}`);
  }
  const out: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(given)) {
    if (!(key in defaults)) {
      throw new Error(
        `KILN_HPARAMS.${key}: unknown hyperparameter (known: ${Object.keys(defaults).join(', ')})`,
      );
    }
    if (typeof value !== typeof defaults[key]) {
      throw new Error(
        `KILN_HPARAMS.${key}: expected a ${typeof defaults[key]}, got ${JSON.stringify(value)}`,
      );
    }
    out[key] = value;
  }
  return out as H;
}

/** Runs an example: fit, then test when the data module has a test loader. Returns the Trainer. */
export async function runExample<H extends Record<string, unknown>>(
  exp: Experiment<H>,
  options: TrainerOptions = {},
): Promise<Trainer> {
  const hparams = resolveHparams(exp.hparams);
  const defaults = exp.trainer(hparams);
  if (options.fastDevRun && defaults.callbacks) {
    // a fastDevRun saves no checkpoints (as in Lightning) and the Trainer rejects a ModelCheckpoint then
    defaults.callbacks = defaults.callbacks.filter((cb) => !(cb instanceof ModelCheckpoint));
  }
  const trainer = new Trainer({
    defaultRootDir: join('kiln_logs', exp.name),
    logger: [new CSVLogger({ name: '' }), new TensorBoardLogger({ name: '' })],
    ...defaults,
    ...options,
  });
  const model = exp.model(hparams);
  const data = exp.data(hparams);
  await trainer.fit(model, data);
  // 'stopped': a limit such as maxSteps or EarlyStopping ended the run, which still deserves a test
  if (data.testDataloader && (trainer.status === 'finished' || trainer.status === 'stopped')) {
    await trainer.test(model, data);
  }
  return trainer;
}

/** True when `url` (a module's import.meta.url) is the script Node was started with. */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === url;
}

import { DataLoader } from '../data/dataloader.js';
import type { DataModule } from '../data/datamodule.js';

/** What `fit`/`validate`/`test`/`predict` take as data: a DataModule or loaders. */
export type DataSource =
  | DataModule
  | DataLoader
  | { train?: DataLoader; val?: DataLoader; test?: DataLoader; predict?: DataLoader };

export type LoaderKind = 'train' | 'val' | 'test' | 'predict';

export function isDataModule(x: unknown): x is DataModule {
  return (
    x !== null &&
    typeof x === 'object' &&
    !(x instanceof DataLoader) &&
    typeof (x as DataModule).setup === 'function' &&
    typeof (x as DataModule).prepareData === 'function'
  );
}

/** The loader of `kind` in `data`, or null when it has none; a malformed source is an error naming it. */
export function loaderFor(kind: LoaderKind, data: DataSource | undefined): DataLoader | null {
  if (data === undefined || data === null) return null;
  if (data instanceof DataLoader) return data;
  if (isDataModule(data)) {
    const fn = {
      train: data.trainDataloader,
      val: data.valDataloader,
      test: data.testDataloader,
      predict: data.predictDataloader,
    }[kind];
    if (!fn) return null;
    const l = fn.call(data);
    if (!(l instanceof DataLoader))
      throw new Error(`${data.constructor.name}.${kind}Dataloader() must return a DataLoader`);
    return l;
  }
  const known = new Set(['train', 'val', 'test', 'predict']);
  for (const k of Object.keys(data)) {
    if (!known.has(k)) throw new Error(`unknown data key "${k}" (expected train, val, test, predict)`);
  }
  const l = (data as Record<string, unknown>)[kind];
  if (l === undefined) return null;
  if (!(l instanceof DataLoader)) throw new Error(`data.${kind} must be a DataLoader`);
  return l;
}

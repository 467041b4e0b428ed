import type { DataLoader } from './dataloader.js';

export type Stage = 'fit' | 'validate' | 'test' | 'predict';

/**
 * Where the data comes from. `prepareData` runs once per machine (downloads, extraction), `setup` once
 * per process for each stage; the loaders are asked for after setup.
 */
export abstract class DataModule {
  prepareData(): void | Promise<void> {}
  setup(_stage: Stage): void | Promise<void> {}
  teardown(_stage: Stage): void | Promise<void> {}
  trainDataloader?(): DataLoader;
  valDataloader?(): DataLoader;
  testDataloader?(): DataLoader;
  predictDataloader?(): DataLoader;
  /** Extra state to keep in checkpoints (e.g. a vocabulary). */
  stateDict?(): Record<string, unknown>;
  loadStateDict?(state: Record<string, unknown>): void;
}

// Shared test inputs: the ARCHITECTURE.md example and a minimal job, as plain objects.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const exampleYaml = readFileSync(new URL('./fixtures/mnist-ddp.yaml', import.meta.url), 'utf8');

// biome-ignore lint/suspicious/noExplicitAny: tests poke at arbitrary, often wrong, shapes.
export type Loose = any;

export function exampleJob(): Loose {
  return parse(exampleYaml);
}

export function minimalJob(): Loose {
  return {
    apiVersion: 'kiln.dev/v1alpha1',
    kind: 'TrainingJob',
    metadata: { name: 'tiny' },
    spec: { image: 'kiln-trainer:0.1', command: ['kiln', 'fit', 'train.ts'] },
  };
}

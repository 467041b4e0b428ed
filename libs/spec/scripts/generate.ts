// Writes crds/trainingjob.yaml from the TypeBox schema. Run: npm run generate -w @kiln/spec
// With --check, writes nothing and exits 1 when the file on disk differs (for CI and hooks).
import { readFileSync, writeFileSync } from 'node:fs';
import { trainingJobCrdYaml } from '../src/crd.js';

const target = new URL('../../../crds/trainingjob.yaml', import.meta.url);
const text = trainingJobCrdYaml();
let current = '';
try {
  current = readFileSync(target, 'utf8');
} catch {}
if (process.argv.includes('--check')) {
  if (current !== text) {
    console.error(`${target.pathname} is out of date: run npm run generate -w @kiln/spec`);
    process.exit(1);
  }
  console.log(`${target.pathname} is up to date`);
} else if (current === text) {
  console.log(`${target.pathname} unchanged`);
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target.pathname}`);
}

// Prints how fast TrainingJobs validate. Baseline, measured in the same run: TypeBox's interpreted
// Value.Check on the same schema. Figures only; nothing here passes or fails on time.
// Run: node --conditions=kiln-src --import @swc-node/register/esm-register libs/spec/scripts/bench.ts
import { readFileSync } from 'node:fs';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';
import { TrainingJobSchema, validateTrainingJob } from '../src/index.js';

const job = parse(readFileSync(new URL('../test/fixtures/mnist-ddp.yaml', import.meta.url), 'utf8'));
const defaulted = validateTrainingJob(job);
if (!defaulted.ok) throw new Error('fixture must be valid');
const bad = structuredClone(job);
bad.spec.workers = 0;
bad.spec.runPolicy.cleanPodPolicy = 'Often';

function rate(name: string, fn: () => unknown, seconds = 1): number {
  for (let i = 0; i < 2000; i++) fn(); // warm up the JIT
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(seconds * 1e9);
  while (process.hrtime.bigint() < end) for (let i = 0; i < 500; i++, n++) fn();
  const perSecond = n / (Number(process.hrtime.bigint() - start) / 1e9);
  console.log(`${name.padEnd(52)} ${Math.round(perSecond).toLocaleString('en-US').padStart(12)} /s`);
  return perSecond;
}

const compiled = TypeCompiler.Compile(TrainingJobSchema);
const interpreted = rate('baseline: Value.Check (interpreted), defaulted job', () =>
  Value.Check(TrainingJobSchema, defaulted.value),
);
const check = rate('TypeCompiler check, defaulted job', () => compiled.Check(defaulted.value));
const full = rate('validateTrainingJob, valid (copy + defaults + rules)', () => validateTrainingJob(job));
const invalid = rate('validateTrainingJob, 2 errors (with messages)', () => validateTrainingJob(bad));
console.log(`compiled check vs interpreted:          ${(check / interpreted).toFixed(1)}x`);
console.log(`full validation vs interpreted check:   ${(full / interpreted).toFixed(2)}x`);
console.log(`invalid job vs valid job:               ${(invalid / full).toFixed(2)}x`);

// One rank of a 2-rank DDP run of a bench/vs-pytorch model for models.test.ts (started by the launcher):
// MODEL (mlp|cnn|transformer), compiled when COMPILE=1, 100 steps, seeded; writes $OUT/run-<rank>.json
// with every step's loss, the final weights, the compiled calls and kiln's compile warnings.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Trainer } from '@kiln/trainer';
import {
  compiledOf,
  Steps,
  seededRandom,
  withCompileWarnings,
} from '../../libs/trainer/test/fixtures/compiled.js';
import { MODELS, type ModelName, makeLoader, makeModule } from './models.js';

const model = process.env.MODEL as ModelName;
if (!MODELS.includes(model)) throw new Error(`MODEL must be one of ${MODELS.join(', ')}, got ${model}`);
const out = process.env.OUT as string;
const rank = Number(process.env.RANK ?? 0);

const losses = new Steps();
const trainer = new Trainer({
  backend: 'tensorflow',
  strategy: 'ddp',
  seed: 42,
  maxSteps: 100,
  compile: process.env.COMPILE === '1',
  enableProgressBar: false,
  enableModelSummary: false,
  enableCheckpointing: false,
  logger: false,
  defaultRootDir: out,
  callbacks: [losses],
});
// the same initial weights and data in every run (tfjs seeds its unseeded initializers from Math.random)
Math.random = seededRandom(1);
const module = makeModule(model);
const loader = makeLoader(model);
const { warnings } = await withCompileWarnings(() => trainer.fit(module, { train: loader }));
const compiled = compiledOf(trainer);
writeFileSync(
  join(out, `run-${rank}.json`),
  JSON.stringify({
    losses: losses.losses,
    weights: module.parameters().map((v) => Array.from(v.dataSync())),
    compiledCalls: compiled?.compiledCalls ?? 0,
    warnings,
  }),
);

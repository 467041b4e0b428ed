// One rank of a 2-rank DDP run of a bench/vs-pytorch model for models.test.ts (started by the launcher):
// MODEL (mlp|cnn|transformer), compiled when COMPILE=1, 100 steps, seeded; writes $OUT/run-<rank>.json
// with every step's loss, the final weights, the compiled calls and kiln's compile warnings.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Callback, type Module, Trainer } from '@kiln/trainer';
import { MODELS, type ModelName, makeLoader, makeModule } from './models.js';

const model = process.env.MODEL as ModelName;
if (!MODELS.includes(model)) throw new Error(`MODEL must be one of ${MODELS.join(', ')}, got ${model}`);
const out = process.env.OUT as string;
const rank = Number(process.env.RANK ?? 0);

class Losses extends Callback {
  losses: number[] = [];
  override onTrainBatchEnd(_t: Trainer, _m: Module, o: { loss: number | null }): void {
    this.losses.push(o.loss as number);
  }
}

const warnings: string[] = [];
const write = process.stderr.write.bind(process.stderr);
process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  if (String(chunk).includes('compile:')) warnings.push(String(chunk));
  return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stderr.write;

const losses = new Losses();
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
// the same initial weights and data in every run: tfjs seeds its unseeded initializers from Math.random
let state = 1;
Math.random = () => {
  state = (state * 16807) % 2147483647;
  return state / 2147483647;
};
const module = makeModule(model);
const loader = makeLoader(model);
await trainer.fit(module, { train: loader });
const compiled = (trainer as unknown as { optimization: { compiled: { compiledCalls: number } | null } })
  .optimization.compiled;
writeFileSync(
  join(out, `run-${rank}.json`),
  JSON.stringify({
    losses: losses.losses,
    weights: module.parameters().map((v) => Array.from(v.dataSync())),
    compiledCalls: compiled?.compiledCalls ?? 0,
    warnings,
  }),
);

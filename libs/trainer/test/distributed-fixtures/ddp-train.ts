// One rank of a DDP training run on the tiny regression model (or the whole run, without WORLD_SIZE).
// After every optimizer step it appends { step, digest } of all weights to $OUT/steps-<rank>.jsonl,
// and at the end writes the weights and callback metrics to $OUT/final-<rank>.json.
// BATCH is the per-rank batch size; ranks other than 0 start from different weights on purpose, so
// the run only matches a single process if rank 0's weights really are broadcast.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Batch,
  DataLoader,
  DataModule,
  ModelCheckpoint,
  TensorDataset,
  Trainer,
  tf,
} from '../../src/index.js';
import { makeRegressionData, TinyRegressor } from '../fixtures/tiny.js';

const out = process.env.OUT as string;
const rank = Number(process.env.RANK ?? 0);
const distributed = Number(process.env.WORLD_SIZE ?? 1) > 1;

function digest(vars: tf.Variable[]): string {
  let h = 2166136261;
  for (const v of vars) {
    const u = new Uint32Array((v.dataSync() as Float32Array).slice().buffer);
    for (let i = 0; i < u.length; i++) h = Math.imul(h ^ (u[i] as number), 16777619) >>> 0;
  }
  return h.toString(16);
}

class Model extends TinyRegressor {
  override trainingStep(batch: Batch) {
    this.log('train/rank', rank, { onStep: false, onEpoch: true, syncDist: true });
    return this.trainLoss(batch);
  }
  override onTrainBatchEnd(): void {
    const t = this.trainer;
    const rec = { step: t.globalStep, epoch: t.currentEpoch, digest: digest(this.parameters()) };
    appendFileSync(join(out, `steps-${rank}.jsonl`), `${JSON.stringify(rec)}\n`);
  }
}

class Data extends DataModule {
  train!: TensorDataset;
  override setup(): void {
    const d = makeRegressionData(Number(process.env.SAMPLES ?? 48));
    this.train = new TensorDataset(d.x, d.y);
  }
  override trainDataloader(): DataLoader {
    return new DataLoader(this.train, { batchSize: Number(process.env.BATCH), shuffle: true, seed: 7 });
  }
}

const ckptDir = join(out, 'ckpt');
const trainer = new Trainer({
  maxEpochs: Number(process.env.MAX_EPOCHS ?? 3),
  maxSteps: process.env.MAX_STEPS ? Number(process.env.MAX_STEPS) : undefined,
  backend: 'cpu',
  seed: 42,
  deterministic: true,
  enableProgressBar: false,
  enableModelSummary: false,
  accumulateGradBatches: Number(process.env.ACCUM ?? 1),
  defaultRootDir: out,
  strategy: distributed ? 'ddp' : undefined,
  callbacks: [
    new ModelCheckpoint({
      dirpath: ckptDir,
      everyNTrainSteps: Number(process.env.EVERY ?? 5),
      saveTopK: 0,
      saveLast: true,
    }),
  ],
});
const model = new Model({ seed: 1 + rank, hidden: 16 });
await trainer.fit(model, new Data(), { ckptPath: process.env.RESUME ? 'last' : null });
writeFileSync(
  join(out, `final-${rank}.json`),
  JSON.stringify({
    globalStep: trainer.globalStep,
    metrics: trainer.callbackMetrics,
    weights: model.parameters().map((v) => Array.from(v.dataSync())),
  }),
);

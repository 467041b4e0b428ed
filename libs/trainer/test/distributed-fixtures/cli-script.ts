// A `kiln fit` script for the launcher-through-the-CLI test: trains the tiny model and prints, per
// rank, the world it ran in and a digest of its final weights.
import { DataLoader, DataModule, defineScript, TensorDataset, Trainer } from '../../src/index.js';
import { makeRegressionData, TinyRegressor } from '../fixtures/tiny.js';

class Data extends DataModule {
  train!: TensorDataset;
  override setup(): void {
    const d = makeRegressionData(32);
    this.train = new TensorDataset(d.x, d.y);
  }
  override trainDataloader(): DataLoader {
    return new DataLoader(this.train, { batchSize: 4, shuffle: true, seed: 5 });
  }
}

export default defineScript(import.meta.url, async ({ trainerOptions }) => {
  const trainer = new Trainer({
    ...trainerOptions,
    backend: 'cpu',
    enableProgressBar: false,
    enableModelSummary: false,
    enableCheckpointing: false,
    logger: false,
  });
  const model = new TinyRegressor({ seed: 1 + Number(process.env.RANK ?? 0) });
  await trainer.fit(model, new Data());
  const sum = model
    .parameters()
    .reduce((s, v) => s + (v.dataSync() as Float32Array).reduce((a, b) => a + b, 0), 0);
  console.log(
    JSON.stringify({
      rank: trainer.strategy.rank,
      world: trainer.strategy.worldSize,
      steps: trainer.globalStep,
      sum,
    }),
  );
});

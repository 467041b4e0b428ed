// One rank of a long DDP training run on the tiny model that prints `step N` after every optimizer
// step. The stall test stops one rank mid-training and watches the others give up on it; the
// teardown test (MAX_STEPS) ends the run and exits the process right after `fit`; with
// LEAVE_IN_ORDER=1 each rank but 0, once training is done, first waits until the previous rank's
// process is gone (pids in $OUT/pid-<rank>): ranks leave one after another, each tearing down
// after its neighbour and, for all but rank 1, after rank 0 and its store have exited.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataLoader, TensorDataset, Trainer } from '../../src/index.js';
import { makeRegressionData, TinyRegressor } from '../fixtures/tiny.js';

const out = process.env.OUT as string;
const rank = Number(process.env.RANK);
writeFileSync(join(out, `pid-${rank}`), String(process.pid));

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

async function waitForRankToExit(r: number): Promise<void> {
  const file = join(out, `pid-${r}`);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (existsSync(file) && gone(Number(readFileSync(file, 'utf8')))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`rank ${r} still runs after 120 s`);
}

class Model extends TinyRegressor {
  override onTrainBatchEnd(): void {
    console.log(`step ${this.trainer.globalStep}`);
  }
  override async onTrainEnd(): Promise<void> {
    // After the last collective of the run: this rank is now the slow one.
    if (process.env.LEAVE_IN_ORDER === '1' && rank > 0) await waitForRankToExit(rank - 1);
    console.log('training done');
  }
}

const d = makeRegressionData(64);
const trainer = new Trainer({
  backend: 'cpu',
  strategy: 'ddp',
  maxSteps: Number(process.env.MAX_STEPS ?? 1_000_000),
  maxEpochs: 1_000_000,
  enableProgressBar: false,
  enableModelSummary: false,
  enableCheckpointing: false,
  logger: false,
  defaultRootDir: out,
});
await trainer.fit(new Model({ hidden: 8 }), new DataLoader(new TensorDataset(d.x, d.y), { batchSize: 8 }));
console.log('fit returned');
process.exit(0);

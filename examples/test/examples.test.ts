import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseCsvLine, type Trainer, unseed } from '@kiln/trainer';

import { experiment as charlm } from '../charlm/train.js';
import { datasetPath, loadDigits, loadShakespeare } from '../data/datasets.js';
import runDigits, { experiment as digits } from '../digits/train.js';
import { type Experiment, resolveHparams, runExample } from '../experiment.js';
import { experiment as regression } from '../regression/train.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'kiln-examples-'));

// The data sets: CI's setup fetches them; this makes a bare checkout work too (a no-op when cached).
before(() => {
  spawnSync('python3', ['scripts/datasets/fetch.py'], {
    cwd: join(import.meta.dirname, '..', '..'),
    stdio: 'inherit',
  });
});
// accelerator 'cpu': the native TensorFlow backend when it is built, else the fastest JS one
const quiet = { enableProgressBar: false, enableModelSummary: false, accelerator: 'cpu' } as const;

/** train/loss by step from a run's metrics.csv. */
function trainLosses(logDir: string): number[] {
  const [header, ...rows] = readFileSync(join(logDir, 'metrics.csv'), 'utf8')
    .trimEnd()
    .split('\n')
    .map(parseCsvLine);
  const col = header!.indexOf('train/loss');
  assert.ok(col > 0, `train/loss column in ${header}`);
  return rows
    .map((r) => r[col]!)
    .filter((v) => v !== '')
    .map(Number);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('data sets', () => {
  it('digits: 1,797 8×8 images scaled to [0, 1], labels 0..9 in every class', () => {
    const d = loadDigits();
    assert.equal(d.count, 1797);
    assert.equal(d.images.length, 1797 * 64);
    assert.ok(d.images.every((v) => v >= 0 && v <= 1));
    assert.deepEqual(
      [...new Set(d.labels)].sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.deepEqual(Array.from(d.labels.slice(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('shakespeare: the whole play', () => {
    const text = loadShakespeare();
    assert.equal(text.length, 125179);
    assert.match(text, /^\tAS YOU LIKE IT/);
    assert.match(text, /All the world's a stage/);
  });

  it('a missing data set names the command that fetches it', () => {
    const script = `import { loadDigits } from './examples/data/datasets.ts'; loadDigits();`;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { ...process.env, KILN_CACHE: tmp() },
      encoding: 'utf8',
    });
    assert.notEqual(res.status, 0);
    assert.match(
      res.stderr,
      /the digits data set is not at .*digits-sklearn-1\.5\.2\/digits\.csv\.gz; fetch it with: python3 scripts\/datasets\/fetch\.py digits/,
    );
    assert.match(datasetPath('shakespeare'), /datasets\/shakespeare-brotli-1\.1\.0\/asyoulik\.txt$/);
  });
});

describe('hyperparameters', () => {
  it('override the defaults, keeping their types', () => {
    assert.deepEqual(resolveHparams({ lr: 0.1, hidden: 8 }, { lr: 0.5 }), { lr: 0.5, hidden: 8 });
    assert.throws(
      () => resolveHparams({ lr: 0.1 }, { lr: 'fast' }),
      /hyperparameter lr: expected a number, got "fast"/,
    );
    assert.throws(() => resolveHparams({ lr: 0.1 }, { lrr: 1 }), /hyperparameter lrr: unknown \(known: lr\)/);
  });
});

describe('examples', () => {
  for (const exp of [digits, regression, charlm] as Experiment<Record<string, unknown>>[]) {
    it(`${exp.name}: a fastDevRun of 2 batches runs train, validation and test steps`, async () => {
      const trainer = await runExample(exp, {
        trainerOptions: { fastDevRun: 2, defaultRootDir: tmp(), ...quiet },
      });
      assert.ok(['finished', 'stopped'].includes(trainer.status), trainer.status);
      assert.equal(trainer.globalStep, 2);
    });
  }

  it('the default export takes the context kiln fit builds (hparams, Trainer options, ckptPath)', async () => {
    const trainer = (await runDigits({
      hparams: { hidden: 16 },
      trainerOptions: { fastDevRun: 1, defaultRootDir: tmp(), ...quiet },
      ckptPath: null,
    })) as Trainer;
    assert.equal(trainer.globalStep, 1);
    assert.deepEqual(trainer.module?.hparams, { ...digits.hparams, hidden: 16 });
  });

  it('regression: two seeded runs give bit-identical losses (the model is built after seeding)', async () => {
    const losses = async () => {
      unseed(); // Math.random back to unseeded, as in a fresh process
      const root = tmp();
      await runExample(regression, {
        trainerOptions: {
          maxSteps: 8,
          logEveryNSteps: 1,
          defaultRootDir: root,
          ...quiet,
          accelerator: 'cpu',
          backend: 'cpu',
        },
      });
      const [header, ...rows] = readFileSync(join(root, 'version_0', 'metrics.csv'), 'utf8')
        .trimEnd()
        .split('\n')
        .map(parseCsvLine);
      const col = header!.indexOf('train/mse');
      return rows.map((r) => r[col]).filter((v) => v !== '');
    };
    const first = await losses();
    assert.equal(first.length, 8);
    assert.deepEqual(await losses(), first);
  });

  it('digits: the training loss falls over one short epoch, and the logs land in <root>/version_0', async () => {
    const root = tmp();
    const trainer = await runExample(digits, {
      trainerOptions: { maxEpochs: 1, logEveryNSteps: 1, defaultRootDir: root, ...quiet },
    });
    assert.ok(['finished', 'stopped'].includes(trainer.status), trainer.status);
    const losses = trainLosses(join(root, 'version_0'));
    assert.equal(losses.length, 41, 'one logged loss per step: 1,300 images in batches of 32');
    const first = mean(losses.slice(0, 5));
    const last = mean(losses.slice(-5));
    assert.ok(first > 1.8, `an untrained 10-class model starts near ln 10 ≈ 2.3, got ${first}`);
    assert.ok(last < first / 2, `loss fell from ${first.toFixed(3)} to ${last.toFixed(3)}`);
    assert.ok(
      trainer.callbackMetrics['val/acc']! > 0.7,
      `val/acc after one epoch: ${trainer.callbackMetrics['val/acc']}`,
    );
  });
});

describe('scripts/datasets/fetch.py', () => {
  const root = join(import.meta.dirname, '..', '..');
  it('leaves a cached, checksummed data set alone', () => {
    loadDigits(); // cached and checksummed, or this test has nothing to check
    const res = spawnSync('python3', ['scripts/datasets/fetch.py', 'digits', 'shakespeare'], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /^digits: cached at .*\nshakespeare: cached at /);
  });

  it('names the known data sets when asked for an unknown one', () => {
    const res = spawnSync('python3', ['scripts/datasets/fetch.py', 'mnist'], { cwd: root, encoding: 'utf8' });
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /unknown data set\(s\) mnist; known: digits, shakespeare/);
  });
});

/** Runs bin/kiln as a user would: from a folder outside the repository, a clean NODE_OPTIONS. */
async function kilnFit(cwd: string, example: string, flags: string[]): Promise<void> {
  const { spawn } = await import('node:child_process');
  const kiln = join(import.meta.dirname, '..', '..', 'apps', 'cli', 'bin', 'kiln');
  const args = ['fit', join(import.meta.dirname, '..', example, 'train.ts'), ...flags];
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  delete env.KILN_HPARAMS;
  const p = spawn(kiln, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  p.stdout.on('data', (d) => {
    output += d;
  });
  p.stderr.on('data', (d) => {
    output += d;
  });
  const code = await new Promise((resolve) => p.on('exit', resolve));
  assert.equal(code, 0, output);
}

describe('kiln fit', () => {
  it('runs an example as a user would: own folder under kiln_logs, CSV, TensorBoard, checkpoints', async () => {
    const cwd = tmp();
    const flags = [
      '--max-epochs',
      '1',
      '--accelerator',
      'cpu',
      '--no-enable-progress-bar',
      '--hparam',
      'hidden=32',
    ];
    await kilnFit(cwd, 'digits', flags);
    const run = join(cwd, 'kiln_logs', 'digits');
    const files = readdirSync(join(run, 'version_0'));
    assert.ok(files.includes('metrics.csv') && files.includes('hparams.yaml'), files.join());
    assert.ok(
      files.some((f) => f.startsWith('events.out.tfevents.')),
      files.join(),
    );
    assert.ok(readdirSync(join(run, 'checkpoints')).includes('last.ckpt'));
    assert.match(readFileSync(join(run, 'version_0', 'hparams.yaml'), 'utf8'), /hidden: 32/);
    const header = parseCsvLine(readFileSync(join(run, 'version_0', 'metrics.csv'), 'utf8').split('\n')[0]!);
    for (const col of ['train/loss', 'val/loss', 'val/acc', 'test/acc'])
      assert.ok(header.includes(col), `${col} in ${header}`);
  });

  it('--devices 2: one run folder, written by rank 0 alone', async () => {
    const cwd = tmp();
    const flags = ['--devices', '2', '--accelerator', 'cpu', '--max-epochs', '1', '--no-enable-progress-bar'];
    await kilnFit(cwd, 'regression', flags);
    const run = join(cwd, 'kiln_logs', 'regression');
    assert.deepEqual(readdirSync(run).sort(), ['checkpoints', 'version_0']);
    const files = readdirSync(join(run, 'version_0'));
    assert.equal(files.filter((f) => f.startsWith('events.out.tfevents.')).length, 1, files.join());
    const lines = readFileSync(join(run, 'version_0', 'metrics.csv'), 'utf8')
      .trimEnd()
      .split('\n');
    const steps = lines.slice(1).map((l) => Number(parseCsvLine(l)[0]));
    assert.ok(steps.length > 3, `${steps.length} rows`);
    assert.deepEqual(
      steps,
      [...steps].sort((a, b) => a - b),
      'one writer: steps in order',
    );
  });
});

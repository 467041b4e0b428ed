import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CSVLogger, JSONLinesLogger, type LoggerContext, TensorBoardLogger } from '@kiln/trainer';
import { parse as parseYaml } from 'yaml';
import { parseCsvLine } from '../src/loggers/csv.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'kiln-loggers-'));
const ctxFor = (root: string, isGlobalZero = true): LoggerContext => ({ defaultRootDir: root, isGlobalZero });

function readCsv(path: string): { header: string[]; rows: string[][] } {
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'file ends with a newline');
  return { header: parseCsvLine(lines[0]!), rows: lines.slice(1).map(parseCsvLine) };
}

describe('run folders', () => {
  it('loggers of one Trainer share <root>/default/version_<n>; the next run takes the next number', async () => {
    const root = tmp();
    const ctx = ctxFor(root);
    const a = new CSVLogger();
    const b = new TensorBoardLogger();
    a.setup(ctx);
    b.setup(ctx);
    assert.equal(a.logDir, join(root, 'default', 'version_0'));
    assert.equal(b.logDir, a.logDir);
    const c = new JSONLinesLogger();
    c.setup(ctxFor(root));
    assert.equal(c.logDir, join(root, 'default', 'version_1'));
    const d = new CSVLogger({ saveDir: join(root, 'elsewhere'), name: 'mnist' });
    assert.equal(d.logDir, join(root, 'elsewhere', 'mnist', 'version_0'));
    const e = new CSVLogger({ saveDir: join(root, 'flat'), name: '' }); // no experiment folder
    assert.equal(e.logDir, join(root, 'flat', 'version_0'));
    for (const l of [a, b, c, d, e]) await l.finalize('success');
  });

  it('honours a fixed version, as a number or a folder name', () => {
    const root = tmp();
    const a = new CSVLogger({ saveDir: root, version: 7 });
    assert.equal(a.logDir, join(root, 'default', 'version_7'));
    const b = new CSVLogger({ saveDir: root, name: 'exp', version: 'resumed' });
    assert.equal(b.logDir, join(root, 'exp', 'resumed'));
    // the next free number counts past the highest existing one
    const c = new CSVLogger({ saveDir: root });
    assert.equal(c.logDir, join(root, 'default', 'version_8'));
  });

  it('writes nothing on ranks other than 0 (from the Trainer context or the RANK variable)', async () => {
    const root = tmp();
    for (const make of [() => new CSVLogger(), () => new JSONLinesLogger(), () => new TensorBoardLogger()]) {
      const l = make();
      l.setup(ctxFor(root, false));
      l.logHyperparams({ lr: 0.1 });
      l.logMetrics({ loss: 1 }, 0);
      await l.finalize('success');
      assert.equal(l.logDir, undefined);
    }
    const saved = process.env.RANK;
    process.env.RANK = '1';
    try {
      const l = new CSVLogger({ saveDir: root });
      l.logMetrics({ loss: 1 }, 0);
      await l.finalize('success');
      assert.equal(l.logDir, undefined);
    } finally {
      if (saved === undefined) delete process.env.RANK;
      else process.env.RANK = saved;
    }
    assert.deepEqual(readdirSync(root), []);
  });
});

describe('CSVLogger', () => {
  it('widens the header when new metrics appear, padding earlier rows, and merges calls for one step', async () => {
    const root = tmp();
    const log = new CSVLogger({ saveDir: root, flushEveryNRows: 1 });
    log.logMetrics({ 'train/loss': 2.5 }, 0);
    log.logMetrics({ 'train/loss': 2 }, 1);
    log.logMetrics({ 'train/loss': 1.5 }, 2); // rows 0 and 1 are on disk by now
    log.logMetrics({ 'val/loss': 1.75, 'val/acc': 0.5 }, 2); // same step: same row
    log.logMetrics({ 'train/loss': 1.25 }, 3);
    await log.finalize('success');
    const { header, rows } = readCsv(log.metricsPath!);
    assert.deepEqual(header, ['step', 'train/loss', 'val/loss', 'val/acc']);
    assert.deepEqual(rows, [
      ['0', '2.5', '', ''],
      ['1', '2', '', ''],
      ['2', '1.5', '1.75', '0.5'],
      ['3', '1.25', '', ''],
    ]);
    assert.deepEqual(
      readdirSync(log.logDir!).filter((f) => f.endsWith('.tmp')),
      [],
      'no temp file left behind',
    );
  });

  it('keeps the rows of one step apart when a key repeats', async () => {
    const log = new CSVLogger({ saveDir: tmp() });
    log.logMetrics({ loss: 1 }, 5);
    log.logMetrics({ loss: 2 }, 5);
    await log.finalize('success');
    assert.deepEqual(readCsv(log.metricsPath!).rows, [
      ['5', '1'],
      ['5', '2'],
    ]);
  });

  it('writes NaN and ±Infinity as nan, inf, -inf and quotes awkward metric names', async () => {
    const log = new CSVLogger({ saveDir: tmp() });
    log.logMetrics(
      { a: Number.NaN, 'b,c': Number.POSITIVE_INFINITY, 'say "hi"': Number.NEGATIVE_INFINITY, d: 1e-12 },
      0,
    );
    await log.finalize('success');
    const text = readFileSync(log.metricsPath!, 'utf8');
    assert.equal(text, 'step,a,"b,c","say ""hi""",d\n0,nan,inf,-inf,1e-12\n');
    assert.deepEqual(readCsv(log.metricsPath!).header, ['step', 'a', 'b,c', 'say "hi"', 'd']);
  });

  it('appends to the metrics.csv of a resumed run, keeping its columns', async () => {
    const root = tmp();
    const first = new CSVLogger({ saveDir: root, version: 0 });
    first.logMetrics({ loss: 3, acc: 0.1 }, 0);
    await first.finalize('interrupted');
    const resumed = new CSVLogger({ saveDir: root, version: 0 });
    resumed.logMetrics({ acc: 0.2 }, 1);
    resumed.logMetrics({ lr: 0.01 }, 2);
    await resumed.finalize('success');
    assert.deepEqual(readCsv(resumed.metricsPath!), {
      header: ['step', 'loss', 'acc', 'lr'],
      rows: [
        ['0', '3', '0.1', ''],
        ['1', '', '0.2', ''],
        ['2', '', '', '0.01'],
      ],
    });
  });

  it('leaves a well-formed metrics.csv when the process is killed mid-run', async () => {
    const { spawn } = await import('node:child_process');
    const root = tmp();
    // rows flushed one by one while new columns keep appearing, so header rewrites happen all the time
    const script = `
      import { CSVLogger } from '@kiln/trainer';
      const log = new CSVLogger({ saveDir: ${JSON.stringify(root)}, version: 0, flushEveryNRows: 1 });
      for (let step = 0; ; step++) {
        log.logMetrics({ loss: 1 / (step + 1), ['m' + (step % 400)]: step }, step);
        if (step === 50) process.stdout.write('running\\n');
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const { header, rows } = readCsv(join(root, 'default', 'version_0', 'metrics.csv'));
    assert.equal(header[0], 'step');
    assert.ok(rows.length > 50, `${rows.length} rows survived`);
    rows.forEach((row, i) => {
      assert.equal(row.length, header.length, `row ${i} has every column`);
      assert.equal(row[0], String(i), 'steps in order, none lost or repeated');
    });
  });

  it('writes hparams.yaml beside the metrics', async () => {
    const log = new CSVLogger({ saveDir: tmp() });
    log.logHyperparams({ lr: 0.001, net: { hidden: [64, 32] }, seed: 42n, skip: undefined });
    await log.finalize('success');
    assert.deepEqual(parseYaml(readFileSync(join(log.logDir!, 'hparams.yaml'), 'utf8')), {
      lr: 0.001,
      net: { hidden: [64, 32] },
      seed: '42',
    });
  });
});

describe('JSONLinesLogger', () => {
  it('writes one typed record per line, non-finite numbers as strings, and an end record', async () => {
    const log = new JSONLinesLogger({ saveDir: tmp() });
    const before = Date.now() / 1000;
    log.logHyperparams({ lr: 0.5, warmup: Number.POSITIVE_INFINITY });
    log.logMetrics({ 'train/loss': 0.75, bad: Number.NaN, worse: Number.NEGATIVE_INFINITY }, 10);
    log.logCheckpoint({
      path: '/ckpt/last.ckpt',
      step: 10,
      epoch: 0,
      sizeBytes: 123,
      sha256: 'ab',
      metrics: { 'val/loss': 0.5 },
      isBest: true,
      isLast: true,
    });
    await log.finalize('failed');
    const records = readFileSync(log.metricsPath!, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      records.map((r) => r.type),
      ['hparams', 'metrics', 'checkpoint', 'end'],
    );
    assert.deepEqual(records[0].params, { lr: 0.5, warmup: 'Infinity' });
    assert.deepEqual(records[1], {
      ...records[1],
      step: 10,
      metrics: { 'train/loss': 0.75, bad: 'NaN', worse: '-Infinity' },
    });
    assert.equal(records[2].checkpoint.path, '/ckpt/last.ckpt');
    assert.equal(records[3].status, 'failed');
    for (const r of records) assert.ok(r.time >= before && r.time <= Date.now() / 1000 + 1);
  });

  it('flushes what it buffered when the process exits without finalize (JSON lines and CSV)', async () => {
    const { spawnSync } = await import('node:child_process');
    const root = tmp();
    const script = `
      import { CSVLogger, JSONLinesLogger } from '@kiln/trainer';
      const ctx = { defaultRootDir: ${JSON.stringify(root)}, isGlobalZero: true };
      for (const log of [new JSONLinesLogger({ flushIntervalMs: 60000 }), new CSVLogger({ flushIntervalMs: 60000 })]) {
        log.setup(ctx);
        log.logMetrics({ loss: 1 }, 1);
        log.logMetrics({ loss: 0.5 }, 2);
      }
      process.exit(3);`;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(res.status, 3, res.stderr);
    const dir = join(root, 'default', 'version_0');
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).step),
      [1, 2],
    );
    assert.deepEqual(readCsv(join(dir, 'metrics.csv')).rows, [
      ['1', '1'],
      ['2', '0.5'],
    ]);
  });
});

describe('after finalize', () => {
  it('a later run stage (test after fit) appends to the same files', async () => {
    const ctx = ctxFor(tmp());
    const csv = new CSVLogger();
    const jsonl = new JSONLinesLogger();
    const tb = new TensorBoardLogger();
    for (const l of [csv, jsonl, tb]) l.setup(ctx);
    for (const l of [csv, jsonl, tb]) l.logMetrics({ 'train/loss': 1 }, 1);
    for (const l of [csv, jsonl, tb]) await l.finalize('success');
    for (const l of [csv, jsonl, tb]) l.setup(ctx);
    for (const l of [csv, jsonl, tb]) l.logMetrics({ 'test/acc': 0.5 }, 1);
    for (const l of [csv, jsonl, tb]) await l.finalize('success');
    assert.deepEqual(readCsv(csv.metricsPath!), {
      header: ['step', 'train/loss', 'test/acc'],
      rows: [
        ['1', '1', ''],
        ['1', '', '0.5'],
      ],
    });
    const types = readFileSync(jsonl.metricsPath!, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l).type);
    assert.deepEqual(types, ['metrics', 'end', 'metrics', 'end']);
    const { readEventFile } = await import('@kiln/trainer');
    const events = readEventFile(tb.eventFilePath!);
    assert.deepEqual(
      events.map((e) => e.fileVersion ?? e.values?.map((v) => v.tag).join()),
      ['brain.Event:2', 'train/loss', 'test/acc'],
    );
    assert.equal(readdirSync(csv.logDir!).filter((f) => f.startsWith('events.')).length, 1, 'one event file');
  });
});

describe('bad input', () => {
  for (const make of [
    () => new CSVLogger({ saveDir: tmp() }),
    () => new JSONLinesLogger({ saveDir: tmp() }),
    () => new TensorBoardLogger({ saveDir: tmp() }),
  ]) {
    const l = make();
    it(`${l.name}: names the field and what was expected`, async () => {
      assert.throws(() => l.logMetrics({ loss: 1 }, -1), /step must be a non-negative integer, got -1/);
      assert.throws(() => l.logMetrics({ loss: 1 }, 1.5), /step must be a non-negative integer, got 1.5/);
      assert.throws(
        () => l.logMetrics({ loss: '0.5' as unknown as number }, 1),
        /metric 'loss' must be a number, got string 0.5/,
      );
      const tensorLike = { dataSync: () => [1] } as unknown as number;
      assert.throws(() => l.logMetrics({ acc: tensorLike }, 1), /metric 'acc' must be a number.*dataSync/);
      assert.throws(
        () => l.logHyperparams({ model: { act: () => 1 } }),
        /hparams\.model\.act is a function; expected/,
      );
      class Opt {}
      assert.throws(() => l.logHyperparams({ opt: new Opt() }), /hparams\.opt is an instance of Opt/);
      await l.finalize('success');
    });
  }

  it('rejects bad options', () => {
    assert.throws(
      () => new CSVLogger({ name: 'a/b' }),
      /option name: expected a folder name without slashes/,
    );
    assert.throws(
      () => new CSVLogger({ flushEveryNRows: 0 }),
      /option flushEveryNRows: expected a positive integer, got 0/,
    );
    assert.throws(
      () => new CSVLogger({ saveDir: tmp(), version: -2 }).logDir,
      /option version: expected a non-negative integer/,
    );
    assert.throws(
      () => new JSONLinesLogger({ flushIntervalMs: -1 }),
      /flushIntervalMs: expected a number ≥ 0/,
    );
    assert.throws(
      () => new CSVLogger({ saveDir: tmp() }).logMetrics({ step: 1 }, 0),
      /'step' is the row key/,
    );
  });
});

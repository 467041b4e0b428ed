import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { readEventFile, TensorBoardLogger, type TfEvent } from '@kiln/trainer';
import { decodeSessionStartInfo } from '../src/loggers/tensorboard/hparams.js';
import { frameRecord, maskedCrc32c, readRecords } from '../src/loggers/tensorboard/tfrecord.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'kiln-tb-'));
const here = new URL('.', import.meta.url).pathname;

/** A short run: hyperparameters, a few steps, a validation metric, one NaN and one overflow. */
async function writeRun(root: string) {
  const log = new TensorBoardLogger({ saveDir: root, name: 'digits' });
  const start = Date.now() / 1000;
  log.logHyperparams({
    lr: 0.003,
    batchSize: 64,
    optimizer: { name: 'adam', betas: [0.9, 0.999] },
    amsgrad: false,
  });
  const losses = [2.3125, 1.9, 1.3, 0.7, 0.1 + 0.2];
  for (const [step, loss] of losses.entries()) log.logMetrics({ 'train/loss': loss }, step * 10);
  log.logMetrics({ 'val/acc': 0.875, 'val/loss': Number.NaN }, 40);
  log.logMetrics({ 'grad/norm': 1e39 }, 41); // beyond float32: +Infinity in the file
  await log.finalize('success');
  return { log, start, end: Date.now() / 1000, losses };
}

function scalars(events: TfEvent[]): Array<[string, number, number]> {
  return events.flatMap((e) =>
    (e.values ?? [])
      .filter((v) => v.simpleValue !== undefined)
      .map((v) => [v.tag, e.step, v.simpleValue!] as [string, number, number]),
  );
}

describe('TFRecord framing', () => {
  it('uses CRC32C with TensorFlow’s mask', () => {
    // crc32c("123456789") is 0xE3069283; masked = ((crc >>> 15) | (crc << 17)) + 0xA282EAD8
    const crc = 0xe3069283;
    const masked = (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
    assert.equal(maskedCrc32c(Buffer.from('123456789')), masked);
  });

  it('reads back what it frames and rejects a flipped bit in either CRC-covered part', () => {
    const a = new TextEncoder().encode('first record');
    const b = new Uint8Array([0, 1, 2, 255]);
    const file = Buffer.concat([frameRecord(a), frameRecord(b)]);
    assert.deepEqual(
      readRecords(file).map((r) => Buffer.from(r)),
      [Buffer.from(a), Buffer.from(b)],
    );

    const badData = Buffer.from(file);
    badData[12 + 3]! ^= 0x10;
    assert.throws(() => readRecords(badData), /data CRC mismatch in the record at byte 0/);
    const badLength = Buffer.from(file);
    badLength[28 + 1]! ^= 0x01; // the second record's length
    assert.throws(() => readRecords(badLength), /length CRC mismatch at byte 28/);

    const cut = file.subarray(0, file.length - 3);
    assert.throws(() => readRecords(cut), /file ends inside the record at byte 28/);
    assert.equal(readRecords(cut, { allowTruncatedTail: true }).length, 1);
  });
});

describe('TensorBoardLogger', () => {
  it('writes an event file whose records, CRCs and protos parse back to the exact tags, steps and values', async () => {
    const root = tmp();
    const { log, start, end, losses } = await writeRun(root);
    const path = log.eventFilePath!;
    assert.match(
      basename(path),
      new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.${hostname()}\\.${process.pid}$`),
    );
    assert.equal(path, join(root, 'digits', 'version_0', basename(path)));

    const events = readRecords(readFileSync(path)).length; // strict: no truncated tail allowed
    const parsed = readEventFile(path);
    assert.equal(parsed.length, events);
    assert.deepEqual(parsed[0], { wallTime: parsed[0]!.wallTime, step: 0, fileVersion: 'brain.Event:2' });
    for (const e of parsed)
      assert.ok(e.wallTime >= start - 1 && e.wallTime <= end + 1, `wall_time ${e.wallTime}`);

    assert.deepEqual(scalars(parsed), [
      ...losses.map((l, i) => ['train/loss', i * 10, Math.fround(l)] as [string, number, number]),
      ['val/acc', 40, 0.875],
      ['val/loss', 40, Number.NaN],
      ['grad/norm', 41, Number.POSITIVE_INFINITY],
    ]);

    const values = parsed.flatMap((e) => e.values ?? []);
    const start_ = values.find((v) => v.tag === '_hparams_/session_start_info')!;
    assert.equal(start_.pluginName, 'hparams');
    assert.deepEqual(decodeSessionStartInfo(start_.pluginContent!), {
      lr: 0.003,
      batchSize: 64,
      'optimizer/name': 'adam',
      'optimizer/betas': '[0.9,0.999]',
      amsgrad: false,
    });
    const text = values.find((v) => v.tag === 'hparams/text_summary')!;
    assert.equal(text.pluginName, 'text');
    assert.match(Buffer.from(text.tensor!.stringVal[0]!).toString(), /\|lr\|0\.003\|\n\|batchSize\|64\|/);
    assert.ok(values.some((v) => v.tag === '_hparams_/session_end_info'));
  });

  it("is read by TensorBoard's own Python reader and EventAccumulator", async () => {
    // setup.sh installs the pinned tensorboard wheel into the Kiln cache once; later runs reuse it
    const python = execFileSync('bash', [join(here, 'loggers-tensorboard', 'setup.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 300_000,
    }).trim();
    const { log, losses } = await writeRun(tmp());
    const out = JSON.parse(
      execFileSync(python, [join(here, 'loggers-tensorboard', 'read_events.py'), log.eventFilePath!], {
        encoding: 'utf8',
      }),
    );
    assert.equal(out.file_version, 'brain.Event:2');
    assert.equal(out.records, readEventFile(log.eventFilePath!).length);
    const series = (tag: string) =>
      out.scalars[tag].map((s: { step: number; value: number | string }) => [s.step, s.value]);
    assert.deepEqual(
      series('train/loss'),
      losses.map((l, i) => [i * 10, Math.fround(l)]),
    );
    assert.deepEqual(series('val/acc'), [[40, 0.875]]);
    assert.deepEqual(series('val/loss'), [[40, 'nan']]);
    assert.deepEqual(series('grad/norm'), [[41, 'inf']]);
    assert.deepEqual(out.hparams, {
      lr: 0.003,
      batchSize: 64,
      'optimizer/name': 'adam',
      'optimizer/betas': '[0.9,0.999]',
      amsgrad: false,
    });
    assert.equal(out.session_status, 'STATUS_SUCCESS');
    assert.match(out.text['hparams/text_summary'], /\|optimizer\/name\|adam\|/);
    // TensorBoard's server-side accumulator migrates the scalars to tensors and keeps them all
    for (const tag of ['train/loss', 'val/acc', 'val/loss', 'grad/norm'])
      assert.ok(out.server_tensor_tags.includes(tag));
  });

  it('fails TensorBoard’s reader on a corrupted record', async () => {
    const python = execFileSync('bash', [join(here, 'loggers-tensorboard', 'setup.sh')], {
      encoding: 'utf8',
    }).trim();
    const { log } = await writeRun(tmp());
    const bytes = readFileSync(log.eventFilePath!);
    bytes[bytes.length - 6]! ^= 0xff; // inside the last record's data
    const bad = join(tmp(), 'events.out.tfevents.0.bad');
    writeFileSync(bad, bytes);
    assert.throws(() => readEventFile(bad), /data CRC mismatch/);
    assert.throws(
      () =>
        execFileSync(python, [join(here, 'loggers-tensorboard', 'read_events.py'), bad], { stdio: 'pipe' }),
      /failed event crc32 check/,
    );
  });
});

describe("TensorBoard's server", () => {
  it('lists the run, its scalars, its hyperparameters (HPARAMS tab) and the text summary', async () => {
    const { spawn } = await import('node:child_process');
    const { createServer } = await import('node:net');
    const python = execFileSync('bash', [join(here, 'loggers-tensorboard', 'setup.sh')], {
      encoding: 'utf8',
    }).trim();
    const root = tmp();
    const { losses } = await writeRun(root);
    // a free loopback port
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const server = spawn(
      join(python, '..', 'tensorboard'),
      ['--logdir', root, '--host', '127.0.0.1', '--port', String(port), '--load_fast=false'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    server.stderr.on('data', (d) => {
      log += d;
    });
    const base = `http://127.0.0.1:${port}/data`;
    const get = async (path: string, body?: unknown) => {
      const res = await fetch(
        `${base}${path}`,
        body === undefined
          ? {}
          : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
      );
      assert.equal(res.status, 200, `${path}: ${res.status} ${await res.clone().text()}`);
      return res.json();
    };
    try {
      // TensorBoard loads the logdir in the background after it starts listening
      const deadline = Date.now() + 60_000;
      let runs: string[] = [];
      while (Date.now() < deadline) {
        runs = await get('/runs').catch(() => []);
        if (runs.length > 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.deepEqual(runs, ['digits/version_0'], log);
      const run = encodeURIComponent('digits/version_0');
      const points = (await get(
        `/plugin/scalars/scalars?run=${run}&tag=${encodeURIComponent('train/loss')}`,
      )) as number[][];
      assert.deepEqual(
        points.map(([, step, value]) => [step, value]),
        losses.map((l, i) => [i * 10, Math.fround(l)]),
      );
      const groups = await get('/plugin/hparams/session_groups', {
        experimentName: '',
        allowedStatuses: ['STATUS_UNKNOWN', 'STATUS_SUCCESS', 'STATUS_FAILURE', 'STATUS_RUNNING'],
        colParams: [],
        startIndex: 0,
        sliceSize: 10,
      });
      const group = groups.sessionGroups[0];
      assert.deepEqual(group.hparams, {
        lr: 0.003,
        batchSize: 64,
        'optimizer/name': 'adam',
        'optimizer/betas': '[0.9,0.999]',
        amsgrad: false,
      });
      assert.equal(group.sessions[0].status, 'STATUS_SUCCESS');
      const metric = (tag: string) =>
        group.metricValues.find((m: { name: { tag: string } }) => m.name.tag === tag);
      assert.equal(metric('val/acc').value, 0.875);
      const text = await get(
        `/plugin/text/text?run=${run}&tag=${encodeURIComponent('hparams/text_summary')}`,
      );
      assert.match(text[0].text, /<td>optimizer\/name<\/td>\s*<td>adam<\/td>/);
    } finally {
      server.kill('SIGTERM');
    }
  });
});

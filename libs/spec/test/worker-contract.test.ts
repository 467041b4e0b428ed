import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  defaultCheckpointDir,
  ENV,
  EXIT_CODE,
  EXIT_CODE_MEANINGS,
  ProgressReportSchema,
  RESERVED_ENV_NAMES,
  RESTART_EXIT_CODES_DEFAULT,
  readProgressReport,
} from '@kiln/spec';
import { Value } from '@sinclair/typebox/value';

describe('worker contract', () => {
  it('names every environment variable once', () => {
    const names = Object.values(ENV);
    assert.equal(new Set(names).size, names.length, 'no name used for two things');
    for (const n of RESERVED_ENV_NAMES) assert.ok(names.includes(n), n);
    assert.ok(!RESERVED_ENV_NAMES.includes(ENV.progressPort as never), 'progress port stays settable');
  });

  it('gives every exit code a meaning and retries killed and preempted workers by default', () => {
    for (const code of Object.values(EXIT_CODE)) assert.ok(EXIT_CODE_MEANINGS[code], String(code));
    assert.deepEqual(RESTART_EXIT_CODES_DEFAULT, [137, 143]);
    assert.equal(EXIT_CODE.peerLost, 75);
    assert.equal(EXIT_CODE.configError, 78);
  });

  it('puts checkpoints in $KILN_CHECKPOINT_DIR, else <root>/checkpoints', () => {
    assert.equal(defaultCheckpointDir('/runs/a', path, {}), '/runs/a/checkpoints');
    assert.equal(defaultCheckpointDir('/runs/a/', path, { [ENV.checkpointDir]: '' }), '/runs/a/checkpoints');
    assert.equal(defaultCheckpointDir('/runs/a', path, { [ENV.checkpointDir]: '/ckpt/j' }), '/ckpt/j');
    assert.equal(
      defaultCheckpointDir('/runs/a', path, { [ENV.checkpointDir]: 'rel' }),
      path.resolve('rel'),
      'a relative dir is made absolute',
    );
  });

  it('reads a progress report field by field: a bad field costs only itself', () => {
    const good = {
      status: 'running',
      epoch: 1,
      step: 50,
      totalSteps: 200,
      maxSteps: null,
      maxEpochs: 4,
      fraction: 0.25,
      percent: 25,
      etaSeconds: 12,
      elapsedSeconds: 3.5,
      metrics: { 'train/loss': 0.5 },
      checkpoint: { step: 40, path: '/c/last.ckpt', time: '2026-01-01T00:00:00Z' },
    };
    assert.ok(Value.Check(ProgressReportSchema, good));
    assert.deepEqual(readProgressReport(good), good);
    const read = readProgressReport({
      ...good,
      epoch: -1,
      step: 2.5,
      percent: 101,
      metrics: { ok: 1, text: 'x', inf: Number.POSITIVE_INFINITY },
      checkpoint: { step: 1, path: '' },
      extra: 'ignored',
    });
    assert.equal(read?.epoch, undefined);
    assert.equal(read?.step, undefined);
    assert.equal(read?.percent, undefined);
    assert.equal(read?.checkpoint, undefined);
    assert.deepEqual(read?.metrics, { ok: 1 });
    assert.equal(read?.totalSteps, 200);
    assert.ok(!('extra' in (read ?? {})));
    for (const bad of [null, 'nope', 3, [1]]) assert.equal(readProgressReport(bad), undefined);
  });

  it('keeps at most 256 metrics', () => {
    const metrics = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`m${i}`, i]));
    assert.equal(Object.keys(readProgressReport({ metrics })?.metrics ?? {}).length, 256);
  });
});

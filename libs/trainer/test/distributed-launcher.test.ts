import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { launch } from '../src/distributed/launcher.js';
import { alive, fixture } from './distributed-fixtures/ranks.js';

function sink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, stream };
}

describe('launcher', { timeout: 120_000 }, () => {
  it('gives each rank the environment contract and prefixes its output', async () => {
    const out = sink();
    const r = await launch({
      script: fixture('exit-worker.ts'),
      devices: 3,
      execArgv: [],
      stdout: out.stream,
    });
    assert.equal(r.exitCode, 0);
    assert.deepEqual(out.lines.sort(), [
      '[rank 0] hello from 0 of 3 local 0/3',
      '[rank 1] hello from 1 of 3 local 1/3',
      '[rank 2] hello from 2 of 3 local 2/3',
    ]);
  });

  it('numbers ranks by node with --num-nodes/--node-rank', async () => {
    const out = sink();
    const r = await launch({
      script: fixture('exit-worker.ts'),
      devices: 2,
      numNodes: 2,
      nodeRank: 1,
      masterAddr: '127.0.0.1',
      masterPort: 29555,
      execArgv: [],
      stdout: out.stream,
    });
    assert.equal(r.exitCode, 0);
    assert.deepEqual(out.lines.sort(), [
      '[rank 2] hello from 2 of 4 local 0/2',
      '[rank 3] hello from 3 of 4 local 1/2',
    ]);
  });

  it('tears every rank down when one fails and reports its exit code', async () => {
    const out = sink();
    const err = sink();
    const r = await launch({
      script: fixture('exit-worker.ts'),
      devices: 3,
      execArgv: [],
      env: { FAIL_RANK: '1', FAIL_CODE: '3' },
      stdout: out.stream,
      stderr: err.stream,
    });
    assert.equal(r.exitCode, 3);
    assert.equal(r.failedRank, 1);
    assert.ok(
      err.lines.includes('[rank 1] exited with code 3; stopping the other ranks'),
      err.lines.join('\n'),
    );
    // The others were stopped by the launcher's SIGTERM (their handler exits 143, or the default
    // action if it was not installed yet), not left running.
    for (const x of r.ranks.filter((x) => x.rank !== 1)) {
      assert.ok(x.code === 143 || x.signal === 'SIGTERM', JSON.stringify(x));
    }
  });

  it('forwards SIGTERM to every rank and exits with their code', async () => {
    const p = spawn(process.execPath, [fixture('launch-forever.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const hellos = new Promise<void>((resolve) =>
      p.stdout.on('data', (d) => {
        out += d;
        if ((out.match(/hello from/g) ?? []).length === 2) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    await hellos;
    p.kill('SIGTERM');
    // 143 either way: a rank's SIGTERM handler exits 143, a rank killed by the signal counts 128 + 15.
    assert.equal(await exited, 143);
  });

  it('rejects impossible layouts naming the option', async () => {
    await assert.rejects(launch({ script: 'x.ts', devices: 0 }), /devices=0: expected an integer >= 1/);
    await assert.rejects(
      launch({ script: 'x.ts', devices: 1, numNodes: 2, nodeRank: 2, masterAddr: 'h' }),
      /nodeRank=2/,
    );
    await assert.rejects(launch({ script: 'x.ts', devices: 1, numNodes: 2 }), /masterAddr is required/);
    assert.equal(alive(undefined), false);
  });
});

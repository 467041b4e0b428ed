// The GPU benchmark's runner on its CPU path (Kiln on the pure-JS cpu backend, tiny batches): it must
// run the shared bench/vs-pytorch worker, alternate repeats and print its table and JSON. PyTorch's side
// cannot run here (no torch on these machines); asking for it without one is a named error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const runner = [
  '--conditions=kiln-src',
  '--import',
  '@swc-node/register/esm-register',
  'bench/vs-pytorch-gpu/run.ts',
];
const run = (args: string[]) =>
  spawnSync(process.execPath, [...runner, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });

describe('bench/vs-pytorch-gpu runner', () => {
  it('CPU baseline: two alternated repeats of the MLP, a median row and the JSON table', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'kiln-vsgpu-')), 'table.json');
    const r = run([
      ...['--backend', 'cpu', '--device', 'cpu', '--models', 'mlp', '--batches', 'mlp=32'],
      ...['--warmup', '1', '--steps', '2', '--repeats', '2', '--frameworks', 'kiln', '--json', out],
    ]);
    assert.equal(r.status, 0, `runner failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /kiln backend=cpu/);
    assert.match(r.stdout, /rep 1 mlp +kiln +batch +32 +\d+ samples\/s +\(cpu,/);
    assert.match(r.stdout, /rep 2 mlp +kiln +batch +32 +\d+ samples\/s/);
    assert.match(r.stdout, /samples\/s \(wall\), median/);
    const t = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(t.table.length, 1);
    const row = t.table[0];
    assert.equal(row.model, 'mlp');
    assert.equal(row.framework, 'kiln');
    assert.equal(row.batch, 32);
    assert.equal(row.where, 'cpu');
    assert.equal(row.runs.length, 2);
    assert.ok(
      row.runs.every((x: number) => x > 0),
      `samples/s must be positive: ${row.runs}`,
    );
    const sorted = [...row.runs].sort((x: number, y: number) => x - y);
    assert.equal(row.median, (sorted[0] + sorted[1]) / 2);
    assert.deepEqual(t.skipped, []);
  });

  it('bad arguments and a python without torch are named errors, before any worker runs', () => {
    const bad = run(['--models', 'mlp,resnet']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--models must be a list of mlp, cnn, transformer, got "mlp,resnet"/);
    const batch = run(['--batches', 'mlp=0']);
    assert.match(batch.stderr, /--batches must be a positive integer, got "0"/);
    // a python that cannot import torch: the PyTorch side is refused by name, not silently dropped
    const torch = run(['--python', '/nonexistent/python3', '--models', 'mlp']);
    assert.equal(torch.status, 2, torch.stdout + torch.stderr);
    assert.match(
      torch.stderr,
      /--python must be a python with torch and lightning \(or --frameworks kiln\), got "\/nonexistent\/python3: .*ENOENT/,
    );
  });
});

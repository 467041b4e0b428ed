import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCheckpointFile } from '../src/index.js';

const child = join(import.meta.dirname, 'fixtures', 'resume-child.ts');

interface StepRec {
  step: number;
  epoch: number;
  batchIdx: number;
  loss: number;
  indices: number[];
}

function start(env: Record<string, string>) {
  const p = spawn(process.execPath, [child], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  p.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => p.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { p, exited };
}

async function waitFor(path: string, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!existsSync(path)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${path}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function steps(dir: string): StepRec[] {
  return readFileSync(join(dir, 'steps.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as StepRec);
}

let reference: StepRec[] = [];

test('a run SIGKILLed mid-epoch and resumed from last gives bit-identical per-step losses', async () => {
  const full = mkdtempSync(join(tmpdir(), 'kiln-full-'));
  const a = start({ OUT: full });
  const ra = await a.exited;
  assert.equal(ra.code, 0, ra.stderr);
  reference = steps(full);
  assert.equal(reference.length, 24); // 3 epochs × ceil(60 / 8) batches

  const dir = mkdtempSync(join(tmpdir(), 'kiln-killed-'));
  const b = start({ OUT: dir, PAUSE_AT: '13' });
  await waitFor(join(dir, 'paused'));
  b.p.kill('SIGKILL');
  const rb = await b.exited;
  assert.equal(rb.signal, 'SIGKILL');
  const before = steps(dir);
  assert.equal(before.at(-1)!.step, 13);
  const last = await readCheckpointFile(join(dir, 'ckpt', 'last.ckpt'));
  assert.equal(last.loop.globalStep, 10, 'last checkpoint is from step 10 (every 5 steps)');
  assert.equal(last.loop.epoch, 1);
  assert.equal(last.loop.batchPosition, 2, 'mid-epoch: 8 batches in epoch 0, 2 in epoch 1');

  const c = start({ OUT: dir, RESUME: '1' });
  const rc = await c.exited;
  assert.equal(rc.code, 0, rc.stderr);
  const done = JSON.parse(readFileSync(join(dir, 'done.json'), 'utf8'));
  assert.equal(done.globalStep, 24);

  const all = steps(dir);
  const resumed = all.slice(before.length);
  assert.equal(resumed[0]!.step, 11, 'resume continues right after the checkpointed step');
  // steps 11..13 ran twice (before the kill and after the resume): same batches, same losses
  const stitched = [...before.filter((s) => s.step <= 10), ...resumed];
  assert.deepEqual(
    stitched.map((s) => s.step),
    reference.map((s) => s.step),
  );
  for (const [i, s] of stitched.entries()) {
    const r = reference[i]!;
    assert.equal(s.loss, r.loss, `step ${s.step}: loss ${s.loss} != uninterrupted ${r.loss}`);
    assert.deepEqual(s.indices, r.indices, `step ${s.step} saw different samples`);
    assert.equal(s.epoch, r.epoch);
    assert.equal(s.batchIdx, r.batchIdx);
  }
  for (let e = 0; e < 3; e++) {
    const seen = stitched.filter((s) => s.epoch === e).flatMap((s) => s.indices);
    assert.deepEqual(
      [...seen].sort((x, y) => x - y),
      Array.from({ length: 60 }, (_, i) => i),
      `epoch ${e}: every sample exactly once`,
    );
  }
});

test('SIGKILL in the middle of writing a checkpoint leaves the previous last.ckpt intact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-torn-'));
  const ckpt = join(dir, 'last.ckpt');
  const p = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'big-save.ts')], {
    env: { ...process.env, CKPT: ckpt },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  p.stdout.on('data', (d) => {
    out += d;
  });
  const exited = new Promise((r) => p.on('exit', r));
  // wait until the small save is done and the replacement's temp file has bytes in it, then kill
  const t0 = Date.now();
  for (;;) {
    const tmp = out.includes('small saved') ? readdirSync(dir).find((f) => f.includes('.tmp-')) : undefined;
    if (tmp && statSync(join(dir, tmp)).size > 0) break;
    if (Date.now() - t0 > 60_000) throw new Error(`the big save never started (stdout: ${out})`);
    await new Promise((r) => setTimeout(r, 2));
  }
  p.kill('SIGKILL');
  await exited;
  assert.doesNotMatch(out, /big saved/, 'the kill landed before the save finished');
  const torn = readdirSync(dir).filter((f) => f.includes('.tmp-'));
  assert.equal(torn.length, 1, 'the half-written temp file is what the kill interrupted');
  const state = await readCheckpointFile(ckpt);
  assert.equal(state.loop.globalStep, 1, 'last.ckpt is still the previous, complete checkpoint');
  rmSync(dir, { recursive: true, force: true }); // the torn temp file is hundreds of MB
});

test('SIGKILL at arbitrary moments while checkpointing every step never leaves an unreadable last.ckpt', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-crash-save-'));
  // a wide model (≈5 MB per checkpoint with Adam's slots) so that kills land inside writes
  for (const delay of [30, 120, 210, 300]) {
    const r = start({ OUT: dir, EVERY: '1', HIDDEN: '65536', MAX_EPOCHS: '50', RESUME: '1' });
    await waitFor(join(dir, 'ckpt', 'last.ckpt'));
    await new Promise((res) => setTimeout(res, delay));
    r.p.kill('SIGKILL');
    await r.exited;
    const state = await readCheckpointFile(join(dir, 'ckpt', 'last.ckpt'));
    assert.ok(state.loop.globalStep >= 1);
  }
  const torn = readdirSync(join(dir, 'ckpt')).filter((f) => f.includes('.tmp-'));
  t.diagnostic(`kills that landed inside a save (temp files left behind): ${torn.length} of 4`);
});

test('SIGTERM saves last.ckpt and exits 143 (preempted, retryable); the resumed run matches the uninterrupted one', async () => {
  assert.equal(reference.length, 24, 'needs the uninterrupted reference from the first test');
  const dir = mkdtempSync(join(tmpdir(), 'kiln-sigterm-'));
  const b = start({ OUT: dir, MARK_AT: '6', SLOW_MS: '40', EVERY: '1000' });
  await waitFor(join(dir, 'marked'));
  b.p.kill('SIGTERM');
  const rb = await b.exited;
  assert.equal(rb.code, 143, rb.stderr);
  assert.match(rb.stderr, /SIGTERM received/);
  const last = await readCheckpointFile(join(dir, 'ckpt', 'last.ckpt'));
  const before = steps(dir);
  assert.equal(last.loop.globalStep, before.at(-1)!.step, 'the checkpoint holds the last finished step');
  const c = start({ OUT: dir, RESUME: '1', EVERY: '1000' });
  const rc = await c.exited;
  assert.equal(rc.code, 0, rc.stderr);
  const stitched = steps(dir);
  assert.deepEqual(
    stitched.map((s) => [s.step, s.loss]),
    reference.map((s) => [s.step, s.loss]),
  );
});

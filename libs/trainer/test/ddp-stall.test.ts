import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EXIT_CODE } from '@kiln/spec';
import { CollectiveTimeoutError, DistributedConfigError } from '../src/distributed/errors.js';
import {
  collectiveTimeoutMs,
  DEFAULT_COLLECTIVE_TIMEOUT_MS,
  diagnose,
} from '../src/distributed/process-group.js';
import { DDPStrategy } from '../src/strategies/ddp.js';
import { alive, fixture, killAll, type RankProcess, startRanks } from './distributed-fixtures/ranks.js';

// A peer that is alive as far as TCP can tell (its kernel still acknowledges) but makes no progress:
// SIGSTOP is the sharpest case. The group must give up after the collective timeout, on every rank,
// naming the rank it waited on. Timeouts are short here; the margin on top is for a loaded machine.
const TIMEOUT_S = 3;
const MARGIN_MS = 20_000;
after(killAll);

const tmp = () => mkdtempSync(join(tmpdir(), 'kiln-ddp-stall-'));

/** Stops `victim`, then checks the others exit 75 in time naming it; the victim is killed after. */
async function stopAndWatch(ranks: RankProcess[], victim: number, expect: RegExp): Promise<void> {
  const stoppedAt = Date.now();
  ranks[victim]?.child.kill('SIGSTOP');
  try {
    const others = ranks.filter((r) => r.rank !== victim);
    const exits = await Promise.all(others.map((r) => r.exit));
    for (const [i, e] of exits.entries()) {
      const r = others[i] as RankProcess;
      const log = r.err.join('');
      assert.equal(e.code, EXIT_CODE.peerLost, `rank ${r.rank} exit ${JSON.stringify(e)}: ${log}`);
      const took = e.at - stoppedAt;
      assert.ok(took < TIMEOUT_S * 1000 + MARGIN_MS, `rank ${r.rank} took ${took} ms`);
      assert.match(log, expect, `rank ${r.rank}'s error`);
      console.log(`rank ${r.rank} exited ${e.code} ${took} ms after rank ${victim} stopped`);
    }
  } finally {
    ranks[victim]?.child.kill('SIGKILL');
    ranks[victim]?.child.kill('SIGCONT');
  }
  await ranks[victim]?.exit;
  for (const r of ranks) assert.equal(alive(r.child.pid), false, `rank ${r.rank} still running`);
}

describe('a DDP group never hangs on a stopped or stuck peer', { timeout: 240_000 }, () => {
  it('SIGSTOP of rank 1 of 3 mid-training: ranks 0 and 2 exit 75 after the timeout, naming rank 1 and the collective', async () => {
    const out = tmp();
    const ranks = await startRanks(fixture('stall-train.ts'), 3, {
      OUT: out,
      KILN_DDP_COLLECTIVE_TIMEOUT_S: String(TIMEOUT_S),
    });
    try {
      await Promise.all(ranks.map((r) => r.waitFor(/^step 5$/)));
      await stopAndWatch(
        ranks,
        1,
        /DDP collective timed out: \w+ #\d+ did not finish within 3s on rank \d, waiting on rank 1 \(rank 1 does not answer: stopped/,
      );
    } finally {
      for (const r of ranks) r.child.kill('SIGKILL');
    }
  });

  it('SIGSTOP of rank 0, which hosts the store: the others name rank 0', async () => {
    const ranks = await startRanks(fixture('steps-worker.ts'), 3, {
      KILN_DDP_COLLECTIVE_TIMEOUT_S: String(TIMEOUT_S),
    });
    try {
      await Promise.all(ranks.map((r) => r.waitFor(/^step 5$/)));
      await stopAndWatch(
        ranks,
        0,
        /waiting on rank 0 \(rank 0 and the rendezvous store it hosts do not answer/,
      );
    } finally {
      for (const r of ranks) r.child.kill('SIGKILL');
    }
  });

  it('a rank that is alive but never calls the collective is named, and exits 75 too', async () => {
    const ranks = await startRanks(fixture('steps-worker.ts'), 3, {
      KILN_DDP_COLLECTIVE_TIMEOUT_S: String(TIMEOUT_S),
      IDLE_RANK: '2',
      IDLE_AFTER: '5',
    });
    try {
      await ranks[2]?.waitFor(/^idle$/);
      const exits = await Promise.all(ranks.map((r) => r.exit));
      for (const [i, e] of exits.entries()) {
        const r = ranks[i] as RankProcess;
        assert.equal(e.code, EXIT_CODE.peerLost, `rank ${r.rank}: ${r.err.join('')}`);
        assert.match(
          r.err.join(''),
          /allReduce #6 did not finish within 3s on rank [01], waiting on rank 2 \(rank 2 answers but has not reached allReduce #6 \(it is idle after 6 collectives\)\)/,
        );
      }
    } finally {
      for (const r of ranks) r.child.kill('SIGKILL');
    }
  });
});

describe('collective timeout settings and diagnosis', () => {
  it('defaults to 10 minutes, reads KILN_DDP_COLLECTIVE_TIMEOUT_S, and names a bad value', () => {
    const saved = process.env.KILN_DDP_COLLECTIVE_TIMEOUT_S;
    try {
      delete process.env.KILN_DDP_COLLECTIVE_TIMEOUT_S;
      assert.equal(collectiveTimeoutMs(), DEFAULT_COLLECTIVE_TIMEOUT_MS);
      assert.equal(DEFAULT_COLLECTIVE_TIMEOUT_MS, 600_000);
      process.env.KILN_DDP_COLLECTIVE_TIMEOUT_S = '2.5';
      assert.equal(collectiveTimeoutMs(), 2500);
      assert.equal(collectiveTimeoutMs(40_000), 40_000, 'the option wins over the environment');
      for (const bad of ['0', '-3', 'ten', 'Infinity']) {
        process.env.KILN_DDP_COLLECTIVE_TIMEOUT_S = bad;
        assert.throws(
          () => collectiveTimeoutMs(),
          (err: unknown) =>
            err instanceof DistributedConfigError &&
            err.message ===
              `KILN_DDP_COLLECTIVE_TIMEOUT_S=${JSON.stringify(bad)}: expected a positive number of seconds`,
        );
      }
      delete process.env.KILN_DDP_COLLECTIVE_TIMEOUT_S;
      const env = {
        masterAddr: '127.0.0.1',
        masterPort: 1,
        worldSize: 2,
        rank: 1,
        localRank: 1,
        nodeRank: 0,
        localWorldSize: 2,
      };
      assert.throws(
        () => new DDPStrategy({ env, collectiveTimeoutMs: 0 }),
        /collectiveTimeoutMs=0: expected a positive number of milliseconds/,
      );
    } finally {
      if (saved === undefined) delete process.env.KILN_DDP_COLLECTIVE_TIMEOUT_S;
      else process.env.KILN_DDP_COLLECTIVE_TIMEOUT_S = saved;
    }
  });

  it('names ranks that do not answer, have left, or lag behind; blames the link when all are in', () => {
    const c = 'allReduce #7';
    const inIt = { running: { seq: 7, op: 'allReduce', ms: 3000 }, done: 7 };
    assert.deepEqual(
      diagnose({ 0: inIt, 1: 'no answer', 2: inIt, 3: { done: 6 }, 4: 'left' }, 7, c, 0, 5).waitingOn,
      [1, 3, 4],
    );
    const lag = diagnose(
      { 0: inIt, 1: { running: { seq: 6, op: 'broadcast', ms: 9 }, done: 6 } },
      7,
      c,
      0,
      2,
    );
    assert.match(lag.detail, /rank 1 answers but has not reached allReduce #7 \(it is in broadcast #6\)/);
    const ahead = { done: 8 };
    const link = diagnose({ 0: inIt, 1: ahead, 2: inIt }, 7, c, 0, 3);
    assert.deepEqual(link.waitingOn, [2]);
    assert.match(link.detail, /no data arrives from rank 2: a stalled connection/);
    assert.deepEqual(diagnose(undefined, 7, c, 2, 3).waitingOn, [0]);
    const err = new CollectiveTimeoutError([1], c, 0, 3000, 'x');
    assert.equal(err.exitCode, EXIT_CODE.peerLost);
  });
});

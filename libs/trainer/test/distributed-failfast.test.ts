import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { EXIT_CODE } from '@kiln/spec';
import { alive, fixture, killAll, startRanks } from './distributed-fixtures/ranks.js';

const worker = fixture('steps-worker.ts');
after(killAll);

describe('a DDP group fails fast instead of hanging', { timeout: 180_000 }, () => {
  for (const victim of [1, 0]) {
    it(`killing rank ${victim} of 3 mid-run makes the others exit ${EXIT_CODE.peerLost} within 10 s, naming rank ${victim}`, async () => {
      const ranks = await startRanks(worker, 3);
      try {
        await Promise.all(ranks.map((r) => r.waitFor(/^step 5$/)));
        const killedAt = Date.now();
        ranks[victim]?.child.kill('SIGKILL');
        const others = ranks.filter((r) => r.rank !== victim);
        const exits = await Promise.all(others.map((r) => r.exit));
        for (const [i, e] of exits.entries()) {
          const r = others[i]!;
          assert.equal(
            e.code,
            EXIT_CODE.peerLost,
            `rank ${r.rank} exit: ${JSON.stringify(e)} ${r.err.join('')}`,
          );
          assert.ok(e.at - killedAt < 10_000, `rank ${r.rank} took ${e.at - killedAt} ms`);
          assert.match(r.err.join(''), new RegExp(`rank ${victim} is gone`));
        }
        await ranks[victim]?.exit;
        for (const r of ranks) assert.equal(alive(r.child.pid), false, `rank ${r.rank} still running`);
      } finally {
        for (const r of ranks) r.child.kill('SIGKILL');
      }
    });
  }

  it('a rank that never arrives fails the rendezvous with an error naming it', async () => {
    const ranks = await startRanks(worker, 3, { RDZV_TIMEOUT_MS: '2000', STEPS: '1' }, [0, 1]);
    const exits = await Promise.all(ranks.map((r) => r.exit));
    for (const [i, e] of exits.entries()) {
      const r = ranks[i]!;
      assert.equal(e.code, EXIT_CODE.peerLost, r.err.join(''));
      assert.match(r.err.join(''), /rank 2 of 3 never arrived/);
    }
  });

  it('two processes with the same RANK is a configuration error', async () => {
    // The group keeps stepping, so whichever rank-1 process comes second meets a live first one.
    const ranks = await startRanks(worker, 2, { RDZV_TIMEOUT_MS: '20000' }, [0, 1, 1]);
    try {
      const first = await Promise.race(ranks.map((r) => r.exit.then((e) => ({ r, e }))));
      assert.equal(first.e.code, EXIT_CODE.configError, first.r.err.join(''));
      assert.equal(first.r.rank, 1);
      assert.match(first.r.err.join(''), /RANK=1 joined twice/);
    } finally {
      for (const r of ranks) r.child.kill('SIGKILL');
    }
  });

  it('a clean finish is not taken for a crash: every rank exits 0 without calling destroy', async () => {
    const ranks = await startRanks(worker, 3, { STEPS: '5' });
    const exits = await Promise.all(ranks.map((r) => r.exit));
    for (const [i, e] of exits.entries()) assert.equal(e.code, 0, ranks[i]?.err.join(''));
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EXIT_CODE } from '@kiln/spec';
import { alive, fixture, killAll, type RankProcess, startRanks } from './distributed-fixtures/ranks.js';

after(killAll);

const logs = (r: RankProcess) => `${r.out.join('\n')}\n${r.err.join('')}`;

describe('DDP teardown leaves the group cleanly', { timeout: 240_000 }, () => {
  it('ranks that call process.exit() right after fit, one after another, all exit 0', async () => {
    // Rank 0 (the store's host) exits first; rank 1 tears down only once rank 0 is gone, rank 2
    // once rank 1 is gone: every rank but 0 leaves after its neighbours closed their connections.
    const out = mkdtempSync(join(tmpdir(), 'kiln-ddp-teardown-'));
    const ranks = await startRanks(fixture('stall-train.ts'), 3, {
      OUT: out,
      MAX_STEPS: '12',
      LEAVE_IN_ORDER: '1',
      KILN_DDP_COLLECTIVE_TIMEOUT_S: '60',
    });
    try {
      const exits = await Promise.all(ranks.map((r) => r.exit));
      for (const [i, e] of exits.entries()) {
        const r = ranks[i] as RankProcess;
        assert.equal(e.code, 0, `rank ${r.rank} exit ${JSON.stringify(e)}:\n${logs(r)}`);
        assert.ok(r.out.includes('step 12'), `rank ${r.rank} trained 12 steps:\n${logs(r)}`);
        assert.ok(r.out.includes('fit returned'), `rank ${r.rank}:\n${logs(r)}`);
      }
      // The order really was 0, then 1, then 2.
      assert.ok((exits[0]?.at ?? 0) <= (exits[1]?.at ?? 0) && (exits[1]?.at ?? 0) <= (exits[2]?.at ?? 0));
    } finally {
      for (const r of ranks) r.child.kill('SIGKILL');
    }
  });

  it('a process joins, leaves and re-joins a group; destroy() twice is one leave; collectives after it are refused', async () => {
    const ranks = await startRanks(fixture('rejoin-worker.ts'), 3);
    const exits = await Promise.all(ranks.map((r) => r.exit));
    for (const [i, e] of exits.entries()) {
      const r = ranks[i] as RankProcess;
      assert.equal(e.code, 0, logs(r));
      assert.deepEqual(
        r.out.filter((l) => l !== ''),
        ['left group 1', 'joined group 2', 'left group 2'],
      );
    }
  });

  it('a rank that leaves while the others run one more collective makes them exit 75 naming it', async () => {
    const ranks = await startRanks(fixture('rejoin-worker.ts'), 3, { EARLY_LEAVER: '1' });
    try {
      const exits = await Promise.all(ranks.map((r) => r.exit));
      assert.equal(exits[1]?.code, 0, logs(ranks[1] as RankProcess));
      for (const r of [ranks[0], ranks[2]] as RankProcess[]) {
        const e = exits[r.rank];
        assert.equal(e?.code, EXIT_CODE.peerLost, logs(r));
        assert.match(
          r.err.join(''),
          /rank 1 is gone \(it left the group after 2 collectives while rank [02] runs allReduce #2: it failed \(see its log\) or ran fewer collectives than this rank\)/,
        );
      }
      for (const r of ranks) assert.equal(alive(r.child.pid), false);
    } finally {
      for (const r of ranks) r.child.kill('SIGKILL');
    }
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fixture } from './distributed-fixtures/ranks.js';

const kiln = new URL('../../../apps/cli/bin/kiln', import.meta.url).pathname;

function runKiln(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // bin/kiln sets up its own loader, as it would for a user
  const p = spawn(kiln, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => {
    out += d;
  });
  p.stderr.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve) => p.once('exit', (code) => resolve({ code, out, err })));
}

describe('kiln fit --devices N', { timeout: 240_000 }, () => {
  it('starts N ranks that train as one DDP group and end with the same weights', async () => {
    const r = await runKiln(['fit', fixture('cli-script.ts'), '--devices', '2', '--max-epochs', '2']);
    assert.equal(r.code, 0, r.err);
    const results = r.out
      .split('\n')
      .map((l) => /^\[rank (\d)\] (\{.*\})$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => ({ prefix: Number(m[1]), ...JSON.parse(m[2] as string) }));
    assert.equal(results.length, 2, r.out);
    for (const x of results) {
      assert.equal(x.world, 2);
      assert.equal(x.prefix, x.rank);
      assert.equal(x.steps, 2 * (32 / 4 / 2)); // each rank sees half of each epoch
    }
    assert.equal(results[0]?.sum, results[1]?.sum);
  });

  it('a bad launcher flag is a usage error naming it', async () => {
    const r = await runKiln(['fit', fixture('cli-script.ts'), '--devices', '2', '--master-port', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--master-port: expected a non-negative integer, got "x"/);
  });
});

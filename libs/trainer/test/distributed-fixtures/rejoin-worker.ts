// Joins a group, all-reduces, leaves, and joins a second group in the same process (as the Trainer
// does for fit then test). Checks on the way that two destroy() calls are one leave and that a
// collective after leaving is a clear error. With EARLY_LEAVER=<rank>, that rank leaves the second
// group while the others call one more all-reduce.
import assert from 'node:assert/strict';
import { exitCodeFor } from '../../src/distributed/errors.js';
import { ProcessGroup } from '../../src/distributed/process-group.js';

async function sumCheck(pg: ProcessGroup, tag: string): Promise<void> {
  const buf = new Float32Array(10_001).fill(pg.rank + 1);
  await pg.allReduce(buf);
  const want = (pg.worldSize * (pg.worldSize + 1)) / 2;
  assert.equal(buf[10_000], want, `${tag}: got ${buf[10_000]}`);
}

try {
  const first = await ProcessGroup.init({ timeoutMs: 30_000 });
  await sumCheck(first, 'group 1');
  const leaving = first.destroy();
  assert.equal(first.destroy(), leaving, 'a second destroy() returns the first one');
  await leaving;
  await assert.rejects(first.allReduce(new Float32Array(4)), /allReduce called after this rank left/);
  console.log('left group 1');

  const second = await ProcessGroup.init({ timeoutMs: 30_000 });
  assert.notEqual(second, first);
  await sumCheck(second, 'group 2');
  console.log('joined group 2');
  if (Number(process.env.EARLY_LEAVER) === second.rank) {
    await second.destroy();
    console.log('left group 2 early');
    process.exit(0);
  }
  if (process.env.EARLY_LEAVER !== undefined) await sumCheck(second, 'one more');
  await second.destroy();
  console.log('left group 2');
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = exitCodeFor(err);
}

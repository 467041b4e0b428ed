// A rank that all-reduces in a loop until told to stop (STEPS) or killed; used by the fail-fast tests.
// IDLE_RANK stops calling collectives after IDLE_AFTER steps but stays alive (a rank stuck elsewhere).
import { exitCodeFor } from '../../src/distributed/errors.js';
import { ProcessGroup } from '../../src/distributed/process-group.js';

try {
  const pg = await ProcessGroup.init({ timeoutMs: Number(process.env.RDZV_TIMEOUT_MS) || 20_000 });
  const steps = Number(process.env.STEPS) || Number.POSITIVE_INFINITY;
  const buf = new Float32Array(100_000);
  const idle = process.env.IDLE_RANK !== undefined && Number(process.env.IDLE_RANK) === pg.rank;
  for (let i = 0; i < steps; i++) {
    if (idle && i === Number(process.env.IDLE_AFTER ?? 5)) {
      console.log('idle');
      setInterval(() => {}, 1000);
      await new Promise(() => {});
    }
    buf.fill(1);
    await pg.allReduce(buf);
    if (buf[0] !== pg.worldSize) throw new Error(`step ${i}: got ${buf[0]}`);
    console.log(`step ${i}`);
    await new Promise((r) => setTimeout(r, 20));
  }
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = exitCodeFor(err);
}

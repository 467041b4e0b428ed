// A rank that all-reduces in a loop until told to stop (STEPS) or killed; used by the fail-fast tests.
import { exitCodeFor } from '../../src/distributed/errors.js';
import { ProcessGroup } from '../../src/distributed/process-group.js';

try {
  const pg = await ProcessGroup.init({ timeoutMs: Number(process.env.RDZV_TIMEOUT_MS) || 20_000 });
  const steps = Number(process.env.STEPS) || Number.POSITIVE_INFINITY;
  const buf = new Float32Array(100_000);
  for (let i = 0; i < steps; i++) {
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

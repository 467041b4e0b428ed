// Launches 2 ranks that wait until signalled (FAIL_RANK names no rank), then exits with the group's code.
import { launch } from '../../src/distributed/launcher.js';

const r = await launch({
  script: new URL('./exit-worker.ts', import.meta.url).pathname,
  devices: 2,
  execArgv: [],
  env: { FAIL_RANK: '99' },
});
process.exit(r.exitCode);

// DDP bench processes pinned one per core (taskset) running scaling-worker.ts: the ranks of one group,
// or separate 1-rank runs side by side (the machine's own ceiling). Shared by scaling.ts and compiled.ts.
import { spawn } from 'node:child_process';
import { freePort } from '../../libs/trainer/src/distributed/launcher.js';

const worker = new URL('./scaling-worker.ts', import.meta.url).pathname;

export type Result = { samplesPerSec: number; stepMs: number; commMsPerStep: number };

/** `world` processes, one per core: ranks of one DDP group, or (independent) separate 1-rank runs. */
export async function runPinned(
  model: string,
  world: number,
  env: Record<string, string>,
  independent = false,
) {
  const port = await freePort();
  const outputs = await Promise.all(
    Array.from({ length: world }, (_, core) => {
      const rank = independent ? 0 : core;
      const child = spawn('taskset', ['-c', String(core), process.execPath, ...process.execArgv, worker], {
        env: {
          ...process.env,
          ...env,
          MODEL: model,
          MASTER_ADDR: '127.0.0.1',
          MASTER_PORT: String(port),
          WORLD_SIZE: String(independent ? 1 : world),
          RANK: String(rank),
          LOCAL_RANK: String(rank),
          LOCAL_WORLD_SIZE: String(independent ? 1 : world),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      return new Promise<string>((resolve, reject) =>
        child.once('exit', (code) =>
          code === 0 ? resolve(out) : reject(new Error(`${model} process ${core} exited ${code}`)),
        ),
      );
    }),
  );
  const results = outputs.map((out) => {
    const line = out.split('\n').find((l) => l.startsWith('{"model"'));
    return line ? (JSON.parse(line) as Result) : undefined;
  });
  const first = results[0];
  if (!first) throw new Error(`${model}: process 0 printed no result`);
  if (!independent) return first;
  if (results.some((r) => !r)) throw new Error(`${model}: an independent process printed no result`);
  return { ...first, samplesPerSec: results.reduce((n, r) => n + (r as Result).samplesPerSec, 0) };
}

// Starts the ranks of a group as separate processes (without the launcher, so a test can kill one).
import { type ChildProcess, spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { freePort, launch } from '../../src/distributed/launcher.js';

export interface RankProcess {
  rank: number;
  child: ChildProcess;
  out: string[];
  err: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resolves when a line of stdout matches. */
  waitFor(re: RegExp): Promise<void>;
}

const started = new Set<ChildProcess>();

/** Kills every rank a test started and left running (call from `after`). */
export function killAll(): void {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  started.clear();
}

export const fixture = (name: string) => new URL(`./${name}`, import.meta.url).pathname;

/** A fixture run on `devices` ranks by the launcher (as `kiln fit --devices N` runs a script); its output lines. */
export async function launchFixture(name: string, devices: number, env: Record<string, string> = {}) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const result = await launch({
    script: fixture(name),
    devices,
    execArgv: [],
    env,
    stdout: sink,
    stderr: sink,
  });
  return { result, lines };
}

export async function startRanks(
  script: string,
  worldSize: number,
  env: Record<string, string> = {},
  only?: number[],
): Promise<RankProcess[]> {
  const port = await freePort();
  const ranks = only ?? Array.from({ length: worldSize }, (_, r) => r);
  return ranks.map((rank) => {
    const child = spawn(process.execPath, [script], {
      env: {
        ...process.env,
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
        WORLD_SIZE: String(worldSize),
        RANK: String(rank),
        LOCAL_RANK: String(rank),
        LOCAL_WORLD_SIZE: String(worldSize),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.add(child);
    const out: string[] = [];
    const err: string[] = [];
    const watchers: { re: RegExp; resolve: () => void }[] = [];
    let partial = '';
    child.stdout?.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        out.push(line);
        for (const w of [...watchers]) if (w.re.test(line)) w.resolve();
      }
    });
    child.stderr?.on('data', (d: Buffer) => err.push(d.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    return {
      rank,
      child,
      out,
      err,
      exit,
      waitFor: (re) =>
        new Promise<void>((resolve) => {
          if (out.some((l) => re.test(l))) return resolve();
          watchers.push({ re, resolve });
        }),
    };
  });
}

/** True while a process with this pid exists. */
export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Child processes that never outlive their parent: each is started through util-linux `setpriv
// --pdeathsig SIGKILL`, so if the Node process that owns a cluster dies without cleaning up (a crashed
// test, a SIGKILL), the kernel kills etcd, the control plane and every pod process with it.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export interface ManagedSpawn {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr both go here (appended) */
  logFile: string;
  /**
   * Run through keeper.sh so the parent's death kills the whole process group, not just the direct
   * child (for pod commands, which may start processes of their own). Exit codes pass through; a
   * command killed by signal N shows as exit code 128+N.
   */
  wholeGroup?: boolean;
}

const keeper = fileURLToPath(new URL('./keeper.sh', import.meta.url));

export function spawnManaged(opts: ManagedSpawn): ChildProcess {
  const fd = openSync(opts.logFile, 'a');
  const target = opts.wholeGroup
    ? ['/bin/sh', keeper, opts.command, ...opts.args]
    : [opts.command, ...opts.args];
  const [cmd, args] = setpriv
    ? [setpriv, ['--pdeathsig', opts.wholeGroup ? 'SIGUSR1' : 'SIGKILL', '--', ...target]]
    : [target[0]!, target.slice(1)];
  // detached: its own process group, so a signal reaches the whole tree the command starts.
  const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd); // the child has its own copy
  return child;
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Signals the child's process group (falls back to the child alone if the group is gone). */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM, then SIGKILL once `graceMs` has passed; resolves when the process has exited. */
export async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  const done = exited(child);
  signalGroup(child, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      signalGroup(child, 'SIGKILL');
      resolve();
    }, graceMs);
  });
  await Promise.race([done, killed]);
  clearTimeout(timer);
  await done;
  // Reap anything the command left behind in its group (the leader is gone, the group may not be).
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // no members left
    }
  }
}

// Trials as processes on this machine (`kiln sweep create --local`), as crash-safe as TrainingJobs: each
// trial runs detached under a small shell wrapper that claims the trial's directory with mkdir (atomic),
// so starting a trial twice runs it once, and writes the exit code when the command ends. A worker killed
// at any point finds its trials (running or finished) in the directory on its next pass.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV } from '@kiln/spec';
import type { LaunchedTrial, TrialLauncher } from './launcher.js';
import type { SweepRow, TrialRow } from './store.js';

const WRAPPER = `d="$1"; shift
mkdir "$d/lock" 2>/dev/null || exit 0
echo $$ > "$d/lock/pid.tmp" && mv "$d/lock/pid.tmp" "$d/lock/pid"
"$@" >"$d/output.log" 2>&1
echo $? > "$d/exit.tmp" && mv "$d/exit.tmp" "$d/exit"`;

export interface LocalLauncherOptions {
  /** Where trial directories live: <root>/<sweep id>/<trial number>/. */
  root: string;
  /** Working directory of trial commands. */
  cwd: string;
  /** Extra environment for every trial (tracking URL, DATABASE_URL for test trainers…). */
  env?: Record<string, string>;
  /** A run-scoped tracking token for the trial's run, handed over as KILN_TRACKING_TOKEN. */
  issueRunToken?: (sweep: SweepRow, trial: TrialRow) => Promise<string>;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class LocalLauncher implements TrialLauncher {
  constructor(private readonly o: LocalLauncherOptions) {}

  trialDir(sweepId: string, n: number): string {
    return join(this.o.root, sweepId, String(n));
  }

  async list(sweep: SweepRow): Promise<Map<number, LaunchedTrial>> {
    const map = new Map<number, LaunchedTrial>();
    let names: string[] = [];
    try {
      names = readdirSync(join(this.o.root, sweep.id));
    } catch {
      return map;
    }
    for (const name of names) {
      const n = Number(name);
      const d = this.trialDir(sweep.id, n);
      const pid = read(join(d, 'lock', 'pid'));
      if (!Number.isInteger(n) || !pid) continue;
      const exit = read(join(d, 'exit'));
      const uid = `local-${pid}`;
      if (exit !== undefined)
        map.set(
          n,
          exit === '0'
            ? { uid, phase: 'succeeded' }
            : { uid, phase: 'failed', message: `exited with code ${exit} (see ${d}/output.log)` },
        );
      else if (read(join(d, 'stopped')) !== undefined)
        map.set(n, { uid, phase: 'failed', message: 'stopped' });
      else if (alive(Number(pid))) map.set(n, { uid, phase: 'running' });
      else map.set(n, { uid, phase: 'failed', message: 'its process vanished without an exit code' });
    }
    return map;
  }

  async start(sweep: SweepRow, trial: TrialRow): Promise<string> {
    const d = this.trialDir(sweep.id, trial.number);
    mkdirSync(d, { recursive: true });
    const existing = read(join(d, 'lock', 'pid'));
    if (existing) return `local-${existing}`;
    const template = sweep.spec.spec.trialTemplate as {
      command?: string[];
      args?: string[];
      env?: { name: string; value?: string }[];
      hyperparameters?: Record<string, unknown>;
    };
    const command = [...(template.command ?? []), ...(template.args ?? [])];
    if (!command.length)
      throw Object.assign(new Error('the trial template has no command to run locally'), { code: 400 });
    const env: Record<string, string> = { ...(process.env as Record<string, string>), ...this.o.env };
    for (const e of template.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    env[ENV.hparams] = JSON.stringify({ ...template.hyperparameters, ...trial.params });
    env[ENV.job] = trial.jobName;
    if (trial.runId) env[ENV.runId] = trial.runId;
    if (this.o.issueRunToken && trial.runId)
      env[ENV.trackingToken] = await this.o.issueRunToken(sweep, trial);
    const child = spawn('sh', ['-c', WRAPPER, 'kiln-trial', d, ...command], {
      cwd: this.o.cwd,
      env,
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    // The wrapper that wins the mkdir writes its pid; a losing one (a trial started twice) exits at once.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const pid = read(join(d, 'lock', 'pid'));
      if (pid) return `local-${pid}`;
      if (Date.now() > deadline) throw new Error(`trial ${trial.number} did not start within 10 s (${d})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(sweep: SweepRow, trial: TrialRow): Promise<void> {
    const d = this.trialDir(sweep.id, trial.number);
    const pid = Number(read(join(d, 'lock', 'pid')));
    if (!pid || read(join(d, 'exit')) !== undefined) return;
    writeFileSync(join(d, 'stopped'), '');
    try {
      process.kill(-pid, 'SIGTERM'); // the wrapper leads its own process group (detached)
    } catch {}
  }
}

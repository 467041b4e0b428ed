import { Command } from 'commander';
import { completionCommand } from './commands/completion.js';
import { fitCommand } from './commands/fit.js';
import { jobControlCommands } from './commands/job-control.js';
import { loginCommand } from './commands/login.js';
import { logsCommand } from './commands/logs.js';
import { runsCommand } from './commands/runs.js';
import { statusCommand } from './commands/status.js';
import { submitCommand } from './commands/submit.js';
import { sweepCommand } from './commands/sweep.js';
import type { Io } from './main.js';

/**
 * The `kiln` command line. `io` is where commands print; `setExit` lets a command that succeeded as a
 * command still report an outcome through the exit code (`status -w` of a failed job exits 1).
 */
export function buildProgram(io: Io, setExit: (code: number) => void = () => {}): Command {
  const program = new Command('kiln')
    .description('Kiln: train TypeScript models locally or on the cluster')
    .showSuggestionAfterError(true)
    .exitOverride();
  const out = () => io;
  fitCommand(program);
  loginCommand(program, out);
  submitCommand(program, out);
  statusCommand(program, out, setExit);
  logsCommand(program, out);
  jobControlCommands(program, out);
  runsCommand(program, out);
  sweepCommand(program, out);
  completionCommand(program, out);
  return program;
}

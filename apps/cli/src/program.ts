import { Command } from 'commander';
import { fitCommand } from './commands/fit.js';

/** The `kiln` command line. Other subcommands (submit, logs, status, sweep) register here too. */
export function buildProgram(): Command {
  const program = new Command('kiln')
    .description('Kiln: train TypeScript models locally or on the cluster')
    .showSuggestionAfterError(true)
    .exitOverride();
  fitCommand(program);
  return program;
}

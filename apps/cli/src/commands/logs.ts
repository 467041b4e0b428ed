// `kiln logs <job> [-f] [--worker i] [--tail n]`: a worker's log as Kubernetes keeps it, through the API.
import type { Command } from 'commander';
import { addConnectionOptions, connect } from '../api/connection.js';
import type { ConnectionFlags } from '../api/credentials.js';
import { UsageError } from '../errors.js';
import type { Io } from '../main.js';

interface LogsFlags extends ConnectionFlags {
  follow?: boolean;
  worker: string;
  tail?: string;
}

export function logsCommand(program: Command, io: () => Io): void {
  const cmd = program
    .command('logs')
    .description('print a TrainingJob worker’s log (rank 0’s worker unless --worker)')
    .argument('<job>', 'a TrainingJob name')
    .option('-f, --follow', 'keep printing until the worker ends')
    .option('--worker <index>', 'worker index', '0')
    .option('--tail <lines>', 'only the newest lines');
  addConnectionOptions(cmd).action(async (name: string, flags: LogsFlags) => {
    const worker = Number(flags.worker);
    if (!/^\d+$/.test(flags.worker) || worker > 4095)
      throw new UsageError(`--worker: expected a worker index from 0, got "${flags.worker}"`);
    if (flags.tail !== undefined && (!/^\d+$/.test(flags.tail) || Number(flags.tail) < 1))
      throw new UsageError(`--tail: expected a positive number of lines, got "${flags.tail}"`);
    const { client, project } = await connect(flags);
    const query = new URLSearchParams({ worker: String(worker) });
    if (flags.follow) query.set('follow', 'true');
    if (flags.tail) query.set('tailLines', flags.tail);
    for await (const chunk of client.text(
      `/api/v1/projects/${project.id}/jobs/${encodeURIComponent(name)}/logs?${query}`,
    ))
      io().out(chunk);
  });
}

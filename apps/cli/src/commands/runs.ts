// `kiln runs`: the project's recorded runs (local `kiln fit --track` runs and cluster jobs alike).
import type { Command } from 'commander';
import { addConnectionOptions, connect } from '../api/connection.js';
import type { ConnectionFlags } from '../api/credentials.js';
import { UsageError } from '../errors.js';
import type { Io } from '../main.js';
import { addOutputOption, age, type OutputFormat, render } from '../output.js';

interface RunsFlags extends ConnectionFlags {
  limit: string;
  output: OutputFormat;
}

interface RunRow {
  id: string;
  name: string;
  status: string;
  job: { namespace: string; name: string } | null;
  createdAt?: string;
  progress?: { step: number | null; percent: number | null };
}

export function runsCommand(program: Command, io: () => Io): void {
  const cmd = program
    .command('runs')
    .description('list the project’s recorded runs, newest first')
    .option('--limit <n>', 'how many', '50');
  addOutputOption(addConnectionOptions(cmd)).action(async (flags: RunsFlags) => {
    const limit = Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      throw new UsageError(`--limit: expected an integer from 1 to 500, got "${flags.limit}"`);
    const { client, project } = await connect(flags);
    const page = await client.request<{ items: RunRow[] } | RunRow[]>(
      'GET',
      `/api/v1/projects/${project.id}/runs?limit=${limit}`,
    );
    const runs = Array.isArray(page) ? page : page.items;
    if (flags.output === 'table' && runs.length === 0) {
      io().out(`No runs in project ${project.name}.\n`);
      return;
    }
    io().out(
      render(flags.output, runs, [
        ['ID', (r) => r.id],
        ['NAME', (r) => r.name],
        ['STATUS', (r) => r.status],
        ['JOB', (r) => r.job?.name ?? ''],
        ['STEP', (r) => (r.progress?.step == null ? '' : String(r.progress.step))],
        ['AGE', (r) => age(r.createdAt)],
      ]),
    );
  });
}

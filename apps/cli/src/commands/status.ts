// `kiln status [job] [-w]`: the `kubectl get trainingjobs` columns, through the API. With -w and a job,
// it follows the job until it ends and exits 0 for Succeeded, 1 for Failed; without a job it follows
// the list until interrupted.
import type { Command } from 'commander';
import { addConnectionOptions, connect } from '../api/connection.js';
import type { ConnectionFlags } from '../api/credentials.js';
import { EXIT, UsageError } from '../errors.js';
import type { Io } from '../main.js';
import { addOutputOption, type OutputFormat, render, table } from '../output.js';
import { type JobObject, jobColumns, TERMINAL_PHASES } from './job-view.js';

interface StatusFlags extends ConnectionFlags {
  watch?: boolean;
  interval: string;
  output: OutputFormat;
}

export function statusCommand(program: Command, io: () => Io, setExit: (code: number) => void): void {
  const cmd = program
    .command('status')
    .description('show TrainingJobs (one, or all of the project) with phase, workers, progress, ETA')
    .argument('[job]', 'a TrainingJob name')
    .option('-w, --watch', 'keep showing changes (with a job: until it ends)')
    .option('--interval <seconds>', 'how often -w asks the API', '2');
  addOutputOption(addConnectionOptions(cmd)).action(async (name: string | undefined, flags: StatusFlags) => {
    const interval = Number(flags.interval);
    if (!Number.isFinite(interval) || interval < 0.2 || interval > 3600)
      throw new UsageError(`--interval: expected seconds between 0.2 and 3600, got "${flags.interval}"`);
    const { client, project } = await connect(flags);
    const base = `/api/v1/projects/${project.id}/jobs`;
    const fetchJobs = async (): Promise<JobObject[]> =>
      name
        ? [await client.request<JobObject>('GET', `${base}/${encodeURIComponent(name)}`)]
        : (await client.request<{ items: JobObject[] }>('GET', `${base}?limit=500`)).items;
    let jobs = await fetchJobs();
    if (!flags.watch) {
      if (flags.output === 'table' && jobs.length === 0)
        io().out(`No TrainingJobs in project ${project.name}.\n`);
      else io().out(render(flags.output, name ? jobs[0]! : jobs, jobColumns));
      return;
    }
    // Like kubectl -w: the header once, then a row for each job whenever its columns change.
    const seen = new Map<string, string>();
    let header = true;
    for (;;) {
      for (const j of jobs) {
        const key = JSON.stringify(jobColumns.filter(([h]) => h !== 'AGE').map(([, c]) => c(j)));
        if (seen.get(j.metadata.name) === key) continue;
        seen.set(j.metadata.name, key);
        if (flags.output !== 'table') io().out(render(flags.output, j, jobColumns));
        else {
          const rows = [jobColumns.map(([, c]) => c(j))];
          const text = table(
            jobColumns.map(([h]) => h),
            rows,
          );
          io().out(header ? text : text.slice(text.indexOf('\n') + 1));
          header = false;
        }
      }
      const phase = jobs[0]?.status?.phase;
      if (name && phase && TERMINAL_PHASES.has(phase)) {
        setExit(phase === 'Succeeded' ? EXIT.ok : EXIT.failed);
        return;
      }
      await new Promise((r) => setTimeout(r, interval * 1000));
      jobs = await fetchJobs();
    }
  });
}

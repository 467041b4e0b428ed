// `kiln submit -f job.yaml`: validated here with @kiln/spec (errors name file, line, column and field),
// then submitted through the API, which records the run and gives the job its tracking token.
import { parseTrainingJob } from '@kiln/spec';
import type { Command } from 'commander';
import { addConnectionOptions, connect } from '../api/connection.js';
import type { ConnectionFlags } from '../api/credentials.js';
import type { Io } from '../main.js';
import { addOutputOption, type OutputFormat, render } from '../output.js';
import { readSpecFile } from '../spec-file.js';
import type { JobObject } from './job-view.js';

interface SubmitFlags extends ConnectionFlags {
  file?: string;
  output: OutputFormat;
}

export function submitCommand(program: Command, io: () => Io): void {
  const cmd = program
    .command('submit')
    .description('validate a TrainingJob file and submit it to the cluster through the Kiln API')
    .requiredOption('-f, --file <path>', 'TrainingJob YAML or JSON (several documents allowed)');
  addOutputOption(addConnectionOptions(cmd)).action(async (flags: SubmitFlags) => {
    const jobs = readSpecFile(flags.file as string, parseTrainingJob, 'TrainingJob');
    const { client, project, dashboardUrl } = await connect(flags);
    const results: { runId: string; job: JobObject; url?: string }[] = [];
    for (const job of jobs) {
      const r = await client.request<{ runId: string; job: JobObject }>(
        'POST',
        `/api/v1/projects/${project.id}/jobs`,
        job,
      );
      results.push({ ...r, ...(dashboardUrl && { url: `${dashboardUrl}/runs/${r.runId}` }) });
    }
    if (flags.output !== 'table') {
      io().out(render(flags.output, results.length === 1 ? results[0]! : results, []));
      return;
    }
    for (const r of results) {
      io().out(
        `trainingjob/${r.job.metadata.name} submitted to ${project.name} (namespace ${r.job.metadata.namespace}), run ${r.runId}\n`,
      );
      if (r.url) io().out(`  ${r.url}\n`);
    }
  });
}

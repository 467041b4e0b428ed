// `kiln submit -f job.yaml`: validated here with @kiln/spec (errors name file, line, column and field),
// then submitted through the API, which records the run and gives the job its tracking token.
import { readFileSync } from 'node:fs';
import { parseTrainingJob } from '@kiln/spec';
import type { Command } from 'commander';
import { addConnectionOptions, connect } from '../api/connection.js';
import type { ConnectionFlags } from '../api/credentials.js';
import { UsageError } from '../errors.js';
import type { Io } from '../main.js';
import { addOutputOption, type OutputFormat, render } from '../output.js';
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
    const file = flags.file as string;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(`--file ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    const parsed = parseTrainingJob(text, file);
    if (!parsed.ok) {
      const lines = parsed.errors.map(
        (e) =>
          `  ${e.file ?? file}${e.line ? `:${e.line}:${e.column ?? 1}` : ''}: ${e.path || '(document)'}: ${e.message}`,
      );
      throw new UsageError(`--file ${file} is not a valid TrainingJob:\n${lines.join('\n')}`);
    }
    if (parsed.value.length === 0) throw new UsageError(`--file ${file}: holds no TrainingJob`);
    const { client, project, dashboardUrl } = await connect(flags);
    const results: { runId: string; job: JobObject; url?: string }[] = [];
    for (const job of parsed.value) {
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

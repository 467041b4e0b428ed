// `kiln cancel|suspend|resume <job>`: the API deletes the job (cancel) or flips spec.runPolicy.suspend;
// the operator does the rest (suspend stops the pods and keeps the checkpoint; resume continues from it).
import type { Command } from 'commander';
import { addConnectionOptions, connect } from '../api/connection.js';
import type { ConnectionFlags } from '../api/credentials.js';
import type { Io } from '../main.js';
import { addOutputOption, type OutputFormat, render } from '../output.js';

const ACTIONS = {
  cancel: { describe: 'delete a TrainingJob and its pods', method: 'DELETE', suffix: '', done: 'cancelled' },
  suspend: {
    describe: 'stop a TrainingJob’s pods, keeping its checkpoints, until resume',
    method: 'POST',
    suffix: '/suspend',
    done: 'suspended',
  },
  resume: {
    describe: 'start a suspended TrainingJob again from its last checkpoint',
    method: 'POST',
    suffix: '/resume',
    done: 'resumed',
  },
} as const;

export function jobControlCommands(program: Command, io: () => Io): void {
  for (const [verb, a] of Object.entries(ACTIONS)) {
    const cmd = program.command(verb).description(a.describe).argument('<job>', 'a TrainingJob name');
    addOutputOption(addConnectionOptions(cmd)).action(
      async (name: string, flags: ConnectionFlags & { output: OutputFormat }) => {
        const { client, project } = await connect(flags);
        // suspend and resume answer with the updated TrainingJob; cancel answers 204 (nothing to show)
        const job = await client.request<unknown>(
          'POST' === a.method ? 'POST' : 'DELETE',
          `/api/v1/projects/${project.id}/jobs/${encodeURIComponent(name)}${a.suffix}`,
        );
        if (flags.output === 'table') io().out(`trainingjob/${name} ${a.done}\n`);
        else io().out(render(flags.output, { name, result: a.done, ...(job ? { job } : {}) }, []));
      },
    );
  }
}

// `kiln login <api-url> --token <token>`: checks the token against the API, picks the project, and saves
// all three for the other cluster commands.
import type { Command } from 'commander';
import { ApiClient } from '../api/client.js';
import { parseApiUrl, writeLogin } from '../api/credentials.js';
import { UsageError } from '../errors.js';
import type { Io } from '../main.js';

interface LoginFlags {
  token?: string;
  project?: string;
  dashboard?: string;
}

export function loginCommand(program: Command, io: () => Io): void {
  program
    .command('login')
    .description('save the Kiln API URL, a project token and the project for submit, status, logs and runs')
    .argument('<api-url>', 'the API, e.g. http://127.0.0.1:4000')
    .option('--token <token>', 'a project token (default $KILN_TOKEN)')
    .option('--project <id-or-name>', 'the project (default: the token’s only project)')
    .option('--dashboard <url>', 'the dashboard URL, so submit prints the run’s page')
    .action(async (rawUrl: string, flags: LoginFlags) => {
      const url = parseApiUrl(rawUrl, '<api-url>');
      const token = flags.token ?? process.env.KILN_TOKEN;
      if (!token) throw new UsageError('--token: required (or set KILN_TOKEN)');
      const dashboardUrl =
        flags.dashboard === undefined ? undefined : parseApiUrl(flags.dashboard, '--dashboard');
      const project = await new ApiClient(url, token).project(flags.project);
      const path = writeLogin({
        url,
        token,
        project: { id: project.id, name: project.name },
        ...(dashboardUrl && { dashboardUrl }),
      });
      io().out(`Logged in to ${url}, project ${project.name} (${project.id}); saved in ${path}\n`);
    });
}

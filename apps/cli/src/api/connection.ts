// The flags every cluster command takes, and the client they resolve to.
import type { Command } from 'commander';
import { ApiClient, type ProjectRef } from './client.js';
import { type ConnectionFlags, resolveConnection } from './credentials.js';

export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--api <url>', 'Kiln API URL (default $KILN_API_URL, else the one from kiln login)')
    .option('--token <token>', 'API token (default $KILN_TOKEN, else the one from kiln login)')
    .option('--project <id-or-name>', 'project (default $KILN_PROJECT, else the one from kiln login)');
}

export interface Connection {
  client: ApiClient;
  project: ProjectRef;
  dashboardUrl?: string;
}

export async function connect(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Connection> {
  const c = resolveConnection(flags, env);
  const client = new ApiClient(c.url, c.token);
  const project = await client.project(c.project);
  return { client, project, ...(c.dashboardUrl && { dashboardUrl: c.dashboardUrl }) };
}

// `kiln sweep create|status|pause|resume|stop`: sweeps through the API. `create -f` validates the file
// with @kiln/spec first (errors name file, line, column and field); `--local` then runs the trials as
// processes on this machine (the worker's local executor) against the same Postgres state.
import { join } from 'node:path';
import { parseSweep } from '@kiln/spec';
import type { Command } from 'commander';
import { pino } from 'pino';
import type { ApiClient, ProjectRef } from '../api/client.js';
import { addConnectionOptions, connect } from '../api/connection.js';
import type { ConnectionFlags } from '../api/credentials.js';
import { UsageError } from '../errors.js';
import type { Io } from '../main.js';
import { addOutputOption, type OutputFormat, render } from '../output.js';
import { readSpecFile } from '../spec-file.js';
import { type SweepView, sweepSummary, type TrialView, trialTable } from './sweep-view.js';

interface CreateFlags extends ConnectionFlags {
  file: string;
  local?: boolean;
  trialDir: string;
  output: OutputFormat;
}

interface Flags extends ConnectionFlags {
  output: OutputFormat;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function resolveSweep(client: ApiClient, project: ProjectRef, ref: string): Promise<SweepView> {
  if (UUID.test(ref)) return client.request<SweepView>('GET', `/api/v1/sweeps/${ref}`);
  const { items } = await client.request<{ items: SweepView[] }>(
    'GET',
    `/api/v1/projects/${project.id}/sweeps?limit=500`,
  );
  const found = items.find((s) => s.name === ref);
  if (!found) throw new UsageError(`<sweep>: no sweep "${ref}" in project ${project.name}`);
  return found;
}

function readSweepFile(file: string) {
  const docs = readSpecFile(file, parseSweep, 'Sweep');
  if (docs.length !== 1)
    throw new UsageError(`--file ${file}: expected one Sweep document, found ${docs.length}`);
  return docs[0]!;
}

export function sweepCommand(program: Command, io: () => Io): void {
  const sweep = program
    .command('sweep')
    .description('hyperparameter sweeps: create, status, pause, resume, stop');

  const create = sweep
    .command('create')
    .description('validate a Sweep file and start it (on the cluster, or with --local on this machine)')
    .requiredOption('-f, --file <path>', 'Sweep YAML or JSON')
    .option('--local', 'run the trials here as processes of the template command (needs $DATABASE_URL)')
    .option('--trial-dir <path>', 'with --local: where trial directories and their output go', 'kiln_sweeps');
  addOutputOption(addConnectionOptions(create)).action(async (flags: CreateFlags) => {
    const doc = readSweepFile(flags.file);
    const databaseUrl = process.env.DATABASE_URL;
    if (flags.local && !databaseUrl)
      throw new UsageError(
        '--local: the local executor writes the sweep state to Postgres; set DATABASE_URL',
      );
    const { client, project } = await connect(flags);
    const created = await client.request<SweepView>(
      'POST',
      `/api/v1/projects/${project.id}/sweeps${flags.local ? '?executor=local' : ''}`,
      doc,
    );
    if (flags.output !== 'table') io().out(render(flags.output, created, []));
    else io().out(`sweep/${created.name} created in ${project.name} (id ${created.id})\n`);
    if (!flags.local) return;
    const ac = new AbortController();
    const onSigint = () => {
      io().err('stopping the sweep (its running trials are ended)…\n');
      void client.request('POST', `/api/v1/sweeps/${created.id}/stop`).catch(() => {});
    };
    process.once('SIGINT', onSigint);
    try {
      // Loaded here only: the local executor brings the database client, which no other command needs.
      const { runLocalSweep } = await import('@kiln/sweep-runner');
      const status = await runLocalSweep({
        databaseUrl: databaseUrl!,
        sweepId: created.id,
        root: join(process.cwd(), flags.trialDir),
        cwd: process.cwd(),
        trackingUrl: client.url,
        log: pino({ level: process.env.KILN_LOG_LEVEL ?? 'warn' }),
        signal: ac.signal,
        onTrial: (t) => {
          if (flags.output === 'table')
            io().out(
              `trial ${t.number} ${t.state}${t.value === null ? '' : ` ${t.value}`}${t.reason ? ` (${t.reason})` : ''}\n`,
            );
        },
      });
      await show(client, created.id, flags.output, io);
      if (status !== 'completed') throw new UsageError(`sweep/${created.name} ended ${status}`);
    } finally {
      process.off('SIGINT', onSigint);
    }
  });

  const status = sweep
    .command('status')
    .description('a sweep and its trials, best first')
    .argument('<sweep>', 'sweep name or id');
  addOutputOption(addConnectionOptions(status)).action(async (ref: string, flags: Flags) => {
    const { client, project } = await connect(flags);
    const s = await resolveSweep(client, project, ref);
    await show(client, s.id, flags.output, io);
  });

  for (const [action, what] of [
    ['pause', 'start no new trials; running ones go on'],
    ['resume', 'start trials again'],
    ['stop', 'end the running trials and the sweep'],
  ] as const) {
    const cmd = sweep.command(action).description(what).argument('<sweep>', 'sweep name or id');
    addOutputOption(addConnectionOptions(cmd)).action(async (ref: string, flags: Flags) => {
      const { client, project } = await connect(flags);
      const s = await resolveSweep(client, project, ref);
      const r = await client.request<SweepView>('POST', `/api/v1/sweeps/${s.id}/${action}`);
      if (flags.output !== 'table') io().out(render(flags.output, r, []));
      else io().out(`sweep/${r.name} ${r.status}\n`);
    });
  }
}

async function show(client: ApiClient, id: string, output: OutputFormat, io: () => Io) {
  const [s, trials] = await Promise.all([
    client.request<SweepView>('GET', `/api/v1/sweeps/${id}`),
    client.request<{ items: TrialView[] }>('GET', `/api/v1/sweeps/${id}/trials?sort=best&limit=1000`),
  ]);
  if (output !== 'table') {
    io().out(render(output, { sweep: s, trials: trials.items }, []));
    return;
  }
  io().out(sweepSummary(s));
  if (trials.items.length) io().out(trialTable(s, trials.items));
}

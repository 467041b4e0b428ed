import { pathToFileURL } from 'node:url';
import { CommanderError } from 'commander';
import { EXIT, UsageError } from './errors.js';
import { buildProgram } from './program.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const stdio: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Runs `kiln` and returns the exit code (see EXIT in errors.ts). */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  program.configureOutput({ writeOut: io.out, writeErr: io.err });
  for (const cmd of program.commands) {
    cmd.configureOutput({ writeOut: io.out, writeErr: io.err });
    cmd.exitOverride();
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (unknown option, bad value, --help)
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof UsageError) {
      io.err(`kiln: ${err.message}\n`);
      return EXIT.usage;
    }
    const e = err as Error;
    io.err(`kiln: training failed: ${e?.stack ?? String(err)}\n`);
    return EXIT.failed;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await main(process.argv.slice(2));
  // let loggers' and stdio's pending writes finish, then exit even if a handle (a socket) lingers
  process.exitCode = code;
  setImmediate(() => process.exit(code));
}

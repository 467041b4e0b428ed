#!/usr/bin/env node
// Runs the local-cluster CLI from source through SWC (see DEVELOPERS.md). Usage: kiln-cluster up|down|status|run
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const loader = ['--conditions=kiln-src', '--import', '@swc-node/register/esm-register'];
const child = spawn(process.execPath, [...loader, main, ...process.argv.slice(2)], {
  stdio: 'inherit',
  // The repository root: SWC's loader reads tsconfig.json from the working directory.
  cwd: fileURLToPath(new URL('../../..', import.meta.url)),
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

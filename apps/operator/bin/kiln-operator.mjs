#!/usr/bin/env node
// Runs the operator from source through SWC (see DEVELOPERS.md).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const loader = ['--conditions=kiln-src', '--import', '@swc-node/register/esm-register'];
const child = spawn(process.execPath, [...loader, main, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

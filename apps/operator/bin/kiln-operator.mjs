#!/usr/bin/env node
// Starts the operator. Which code runs (the rule for every app's bin/, see DEVELOPERS.md "Builds"):
// the compiled dist/main.js when NODE_ENV=production or when there is no src/ beside it (an installed
// package, an image that ships only dist/); otherwise the TypeScript sources through SWC, so a checkout
// never runs a stale build. Production without a build is an error, not a silent compile at start.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
if (process.env.NODE_ENV === 'production' || !existsSync(here('../src'))) {
  if (!existsSync(here('../dist/main.js'))) {
    console.error('kiln-operator: dist/main.js is missing; build it with `npm run build`');
    process.exit(1);
  }
  await import('../dist/main.js');
} else {
  const loader = ['--conditions=kiln-src', '--import', '@swc-node/register/esm-register'];
  const child = spawn(process.execPath, [...loader, here('../src/main.ts'), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

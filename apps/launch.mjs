// What every app's bin/ runs (DEVELOPERS.md "Builds"): the compiled dist/main.js when
// NODE_ENV=production or when there is no src/ beside the bin (an installed package, an image that ships
// only dist/); otherwise the TypeScript sources through SWC, so a checkout never runs a stale build.
// Production without a build is an error, not a silent compile at start.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Starts the app whose bin script is `binUrl` (its import.meta.url); `name` words the errors. */
export async function launch(binUrl, name) {
  const here = (path) => fileURLToPath(new URL(path, binUrl));
  if (process.env.NODE_ENV === 'production' || !existsSync(here('../src'))) {
    const main = here('../dist/main.js');
    if (!existsSync(main)) {
      console.error(`${name}: dist/main.js is missing; build it with \`npm run build\``);
      process.exit(1);
    }
    await import(main);
    return;
  }
  const loader = ['--conditions=kiln-src', '--import', '@swc-node/register/esm-register'];
  const child = spawn(process.execPath, [...loader, here('../src/main.ts'), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

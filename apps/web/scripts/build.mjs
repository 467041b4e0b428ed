#!/usr/bin/env node
// Builds the dashboard for `next start` unless the build in .next already matches the sources (a hash of
// apps/web/src, its config and @kiln/spec's source, stored beside the build; not tsconfig.json, which
// `next build` itself rewrites). Tests, setup.sh and the
// local platform all call this, so one `next build` serves them all. Runs under a lock: concurrent
// callers wait for the one build. `--force` rebuilds regardless.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('..', import.meta.url));
const root = join(web, '../..');
const inputs = [
  join(web, 'src'),
  join(web, 'next.config.ts'),
  join(web, 'package.json'),
  join(root, 'libs/spec/src'),
  join(root, 'node_modules/next/package.json'),
];
const stampFile = join(web, '.next/kiln-build-hash');

function* files(p) {
  if (!existsSync(p)) return;
  if (statSync(p).isDirectory()) for (const n of readdirSync(p).sort()) yield* files(join(p, n));
  else yield p;
}

export function sourceHash() {
  const h = createHash('sha256');
  for (const i of inputs)
    for (const f of files(i)) h.update(relative(root, f)).update('\0').update(readFileSync(f));
  return h.digest('hex');
}

function locked(fn) {
  const lock = join(web, '.next-build.lock');
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than the longest build is left from a killed run.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 15 * 60_000) rmSync(lock, { recursive: true, force: true });
      } catch {}
      if (Date.now() > deadline) throw new Error(`waited 15 min for ${lock}`);
      spawnSync('sleep', ['1']);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function ensureBuild({ force = false } = {}) {
  return locked(() => {
    const hash = sourceHash();
    if (!force && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash) return false;
    const started = Date.now();
    const r = spawnSync(
      process.execPath,
      [join(root, 'node_modules/next/dist/bin/next'), 'build', '--webpack'],
      {
        cwd: web,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_OPTIONS: '' },
      },
    );
    if (r.status !== 0) throw new Error(`next build failed (exit ${r.status})`);
    writeFileSync(stampFile, hash);
    console.error(`dashboard built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return true;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const built = ensureBuild({ force: process.argv.includes('--force') });
  if (!built) console.error('dashboard build is current');
}

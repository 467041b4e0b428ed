#!/usr/bin/env node
// Runs the repo's tests on Node's own test runner, TypeScript loaded through SWC (which emits decorator
// metadata, unlike esbuild-based loaders). Usage: node scripts/test.mjs [path-or-substring ...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const skipDirs = new Set(['node_modules', 'dist', '.next', '.git', 'coverage']);

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    if (skipDirs.has(name) || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (name.endsWith('.test.ts')) yield relative(root, path);
  }
}

const filters = process.argv.slice(2);
const files = [...walk(root)]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ') || '(all)'}`);
  process.exit(1);
}
const loader = ['--conditions=kiln-src', '--import', '@swc-node/register/esm-register'];
const result = spawnSync(process.execPath, [...loader, '--test', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${loader.join(' ')}`.trim() },
});
process.exit(result.status ?? 1);

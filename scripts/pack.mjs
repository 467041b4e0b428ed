#!/usr/bin/env node
// `npm run pack`: the `kiln` command (@kiln/cli) and @kiln/trainer as npm tarballs, for a project outside
// this repository (examples/external-project). Packs @kiln/cli with every @kiln/* package it depends on,
// directly or not, into dist/packages/<name>-<version>.tgz. Each tarball holds the compiled dist/ (and
// bin/), never src/: run `npm run build` first. Without src/ the bins run dist/ (DEVELOPERS.md "Builds").
// --project <dir>: also points that project's @kiln/* dependencies at the tarballs and writes its
// package-lock.json (scripts/offline-lock.mjs), so `npm ci --offline` there installs from the npm cache.
// Usage: node scripts/pack.mjs [--out <dir>] [--project <dir>]   prints one tarball path per line
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { offlineLock } from './offline-lock.mjs';

const root = new URL('..', import.meta.url).pathname;
const flag = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const out = resolve(flag('--out') ?? join(root, 'dist/packages'));
const project = flag('--project') && resolve(flag('--project'));

/** name → folder of every workspace package */
const workspaces = new Map();
for (const base of ['libs', 'apps']) {
  for (const d of readdirSync(join(root, base))) {
    const file = join(root, base, d, 'package.json');
    if (existsSync(file)) workspaces.set(JSON.parse(readFileSync(file, 'utf8')).name, join(base, d));
  }
}

const fail = (msg) => {
  console.error(`pack: ${msg}`);
  process.exit(1);
};

const closure = [];
const manifests = new Map();
const visit = (name) => {
  if (closure.includes(name)) return;
  const dir = workspaces.get(name);
  if (!dir) fail(`${name} is not a workspace package`);
  closure.push(name);
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  manifests.set(name, pkg);
  const main = pkg.exports?.['.']?.default;
  if (typeof main !== 'string' || !main.startsWith('./dist/'))
    fail(`${name}: exports["."].default must point into dist/ (it is ${JSON.stringify(main)})`);
  if (!existsSync(join(root, dir, main))) fail(`${name}: ${main} is missing; run \`npm run build\` first`);
  if (!Array.isArray(pkg.files) || pkg.files.includes('src'))
    fail(`${name}: package.json needs "files" listing dist (and bin), never src`);
  const deps = { ...pkg.dependencies, ...pkg.optionalDependencies };
  for (const dep of Object.keys(deps)) if (dep.startsWith('@kiln/')) visit(dep);
};
visit('@kiln/cli');

mkdirSync(out, { recursive: true });
const args = ['pack', '--pack-destination', out, '--json', ...closure.flatMap((n) => ['-w', n])];
const packed = JSON.parse(
  execFileSync('npm', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
);
const tarballs = packed.map((p) => {
  if (p.files.some((f) => f.path.startsWith('src/'))) fail(`${p.name}: the tarball contains src/`);
  console.log(join(out, p.filename));
  return { name: p.name, path: join(out, p.filename), manifest: manifests.get(p.name) };
});

if (project) {
  const file = join(project, 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  pkg.dependencies = { ...pkg.dependencies };
  for (const t of tarballs) pkg.dependencies[t.name] = `file:${t.path}`;
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(
    join(project, 'package-lock.json'),
    `${JSON.stringify(offlineLock(tarballs, pkg), null, 2)}\n`,
  );
}

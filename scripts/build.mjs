#!/usr/bin/env node
// `npm run build`: compiles every workspace whose package.json points its default export at `dist/`
// (the libraries and the Node apps; the dashboard builds itself with Next.js) so production processes
// start from JavaScript instead of compiling TypeScript at start.
//   1. JavaScript: each `src/**/*.ts` becomes `dist/**/*.js` (+ source map) through SWC with exactly the
//      options the development loader (@swc-node/register) derives from tsconfig.json, so the built
//      output behaves as the sources run in development, NestJS decorator metadata included. Other
//      files under src/ (.mjs, .json) are copied. Incremental: a file is redone only when its source is
//      newer than its output or the options changed; outputs whose source is gone are removed.
//   2. Declarations (.d.ts) for the libraries: `tsc -b` over their tsconfig.build.json (project
//      references, incremental through dist/.tsbuildinfo).
// Usage: node scripts/build.mjs [--clean] [--no-types]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const { transform } = require('@swc-node/core');
const {
  readDefaultTsConfig,
  tsCompilerOptionsToSwcConfig,
} = require('@swc-node/register/read-default-tsconfig');
const args = new Set(process.argv.slice(2));
const started = performance.now();

/** Workspaces built here: those whose `exports["."].default` lies under dist/. */
function packages() {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const dirs = [];
  for (const pattern of manifest.workspaces) {
    const base = pattern.endsWith('/*') ? pattern.slice(0, -2) : null;
    const candidates = base ? readdirSync(join(root, base)).map((d) => join(base, d)) : [pattern];
    for (const dir of candidates) {
      const file = join(root, dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      const main = pkg.exports?.['.']?.default;
      if (typeof main === 'string' && main.startsWith('./dist/')) dirs.push({ dir, name: pkg.name });
    }
  }
  return dirs;
}

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

const tsOptions = readDefaultTsConfig(join(root, 'tsconfig.json'));
tsOptions.module = 99; // ts.ModuleKind.ESNext, as @swc-node/register's ESM loader sets it
const swcOptions = (file) => ({ ...tsCompilerOptionsToSwcConfig(tsOptions, file), sourcemap: true });
const optionsKey = createHash('sha256')
  .update(JSON.stringify([swcOptions('x.ts'), require('@swc/core/package.json').version]))
  .digest('hex')
  .slice(0, 16);

async function buildPackage({ dir }) {
  const src = join(root, dir, 'src');
  const dist = join(root, dir, 'dist');
  const stampFile = join(dist, '.swc-options');
  if (args.has('--clean') || (existsSync(stampFile) && readFileSync(stampFile, 'utf8') !== optionsKey)) {
    for (const f of existsSync(dist) ? readdirSync(dist) : []) rmSync(join(dist, f), { recursive: true });
  }
  const wanted = new Set();
  const jobs = [];
  for (const file of walk(src)) {
    const rel = relative(src, file);
    if (/\.d\.ts$/.test(rel) || /\.md$/.test(rel)) continue;
    const isTs = /\.(ts|mts)$/.test(rel);
    const out = join(dist, isTs ? rel.replace(/\.ts$/, '.js').replace(/\.mts$/, '.mjs') : rel);
    wanted.add(out);
    if (isTs) wanted.add(`${out}.map`);
    if (existsSync(out) && statSync(out).mtimeMs >= statSync(file).mtimeMs) continue;
    jobs.push({ file, out, isTs });
  }
  const run = async ({ file, out, isTs }) => {
    mkdirSync(dirname(out), { recursive: true });
    if (!isTs) return copyFileSync(file, out);
    const { code, map } = await transform(readFileSync(file, 'utf8'), file, swcOptions(file));
    const mapName = `${out.slice(dirname(out).length + 1)}.map`;
    writeFileSync(out, `${code}\n//# sourceMappingURL=${mapName}\n`);
    const parsed = JSON.parse(map);
    parsed.sources = [relative(dirname(out), file)];
    parsed.file = mapName.slice(0, -4);
    writeFileSync(`${out}.map`, JSON.stringify(parsed));
  };
  const queue = [...jobs];
  const lanes = Array.from({ length: Math.max(2, cpus().length * 2) }, async () => {
    for (let job = queue.shift(); job; job = queue.shift()) await run(job);
  });
  await Promise.all(lanes);
  // outputs whose source is gone (declarations are tsc's: kept when their source exists)
  let removed = 0;
  if (existsSync(dist)) {
    for (const file of walk(dist)) {
      const rel = relative(dist, file);
      if (rel.startsWith('.') || wanted.has(file)) continue;
      const decl = rel.match(/^(.*)\.d\.ts(\.map)?$/);
      if (decl && existsSync(join(src, `${decl[1]}.ts`))) continue;
      rmSync(file);
      removed++;
    }
  }
  mkdirSync(dist, { recursive: true });
  writeFileSync(stampFile, optionsKey);
  return { compiled: jobs.length, removed };
}

const built = packages();
let compiled = 0;
for (const pkg of built) {
  const r = await buildPackage(pkg);
  compiled += r.compiled;
}
const jsMs = performance.now() - started;
let typesMs = 0;
if (!args.has('--no-types')) {
  const configs = built
    .map((p) => join(p.dir, 'tsconfig.build.json'))
    .filter((c) => existsSync(join(root, c)));
  const t0 = performance.now();
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', ...configs], {
    cwd: root,
    stdio: 'inherit',
  });
  typesMs = performance.now() - t0;
  if (tsc.status !== 0) {
    console.error('build: declarations failed (tsc -b)');
    process.exit(tsc.status ?? 1);
  }
}
console.log(
  `build: ${built.length} packages, ${compiled} files compiled by SWC in ${(jsMs / 1000).toFixed(1)} s` +
    (args.has('--no-types') ? '' : `, declarations (tsc -b) in ${(typesMs / 1000).toFixed(1)} s`),
);

// The workspace packages' manifests say what their code imports, and dependencies point one way
// (apps → libs, never back): an undeclared @kiln/* import works here only through the repo root's
// node_modules and breaks in a packed tarball or an image.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };

interface Workspace {
  dir: string;
  name: string;
  deps: Set<string>;
  devDeps: Set<string>;
}

const workspaces: Workspace[] = rootManifest.workspaces.flatMap((pattern) => {
  const dirs = pattern.endsWith('/*')
    ? readdirSync(join(root, pattern.slice(0, -2))).map((d) => join(pattern.slice(0, -2), d))
    : [pattern];
  return dirs.flatMap((dir) => {
    const file = join(root, dir, 'package.json');
    try {
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      return [
        {
          dir,
          name: pkg.name as string,
          deps: new Set(Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })),
          devDeps: new Set(Object.keys(pkg.devDependencies ?? {})),
        },
      ];
    } catch {
      return [];
    }
  });
});

const skip = new Set(['node_modules', 'dist', '.next', 'test-results']);
function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (skip.has(name) || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (/\.(ts|tsx|mjs)$/.test(name)) yield path;
  }
}

const importRe = /(?:from\s+|import\s*\(\s*|import\s+)'(@kiln\/[a-z-]+)/g;

test('every @kiln/* import is declared in its package.json (test-only imports as devDependencies)', () => {
  const missing: string[] = [];
  for (const ws of workspaces) {
    for (const file of sources(join(root, ws.dir))) {
      const rel = relative(join(root, ws.dir), file);
      const testOnly = /(^|\/)(test|bench)\//.test(rel) || rel.includes('.test.');
      for (const [, dep] of readFileSync(file, 'utf8').matchAll(importRe)) {
        if (dep === ws.name) continue;
        const ok = ws.deps.has(dep!) || (testOnly && ws.devDeps.has(dep!));
        if (!ok) missing.push(`${ws.dir}/${rel} imports ${dep}`);
      }
    }
  }
  assert.deepEqual([...new Set(missing)], []);
});

test('dependencies point one way: no library depends on an app', () => {
  const apps = new Set(workspaces.filter((w) => w.dir.startsWith('apps/')).map((w) => w.name));
  const wrong = workspaces
    .filter((w) => w.dir.startsWith('libs/'))
    .flatMap((w) => [...w.deps, ...w.devDeps].filter((d) => apps.has(d)).map((d) => `${w.name} → ${d}`));
  assert.deepEqual(wrong, []);
});

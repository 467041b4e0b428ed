// The package-lock.json for a project that installs Kiln's packed tarballs, resolving every dependency
// to exactly what this checkout's lock installed, so `npm ci --offline` takes them all from the npm
// cache (`npm install --offline` cannot: without a lock it needs the registry's package metadata, which
// `npm ci` never caches). The tree is the checkout's own: each workspace package moves to
// node_modules/@kiln/<name> with its nested node_modules, hoisted packages stay where they were.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const KEEP = [
  'version',
  'integrity',
  'resolved',
  'license',
  'bin',
  'engines',
  'os',
  'cpu',
  'libc',
  'hasInstallScript',
];
const DEPS = ['dependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta'];

/**
 * tarballs: [{ name, path, manifest }] as packed; project: the project's own package.json (its
 * dependencies must name the tarballs as file: specs). Returns the lock as an object.
 */
export function offlineLock(tarballs, project) {
  const repo = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages;
  const byName = new Map(tarballs.map((t) => [t.name, t]));
  const workspaceDir = new Map(); // lock path of a workspace (libs/spec) → its @kiln name
  for (const [path, entry] of Object.entries(repo))
    if (entry.name && !path.includes('node_modules')) workspaceDir.set(path, entry.name);
  const relocate = (path) => {
    for (const [dir, name] of workspaceDir) {
      if (path === dir) return `node_modules/${name}`;
      if (path.startsWith(`${dir}/`)) return `node_modules/${name}${path.slice(dir.length)}`;
    }
    return path;
  };
  /** Node's lookup from the package at lock path `from`: its node_modules, then each parent's. */
  const resolve = (from, dep) => {
    for (let at = from; ; ) {
      const candidate = at ? `${at}/node_modules/${dep}` : `node_modules/${dep}`;
      if (repo[candidate]) return repo[candidate].link ? repo[candidate].resolved : candidate;
      if (!at) return undefined;
      const cut = at.lastIndexOf('/node_modules/');
      at = cut >= 0 ? at.slice(0, cut) : '';
    }
  };
  const packages = {
    '': { name: project.name, dependencies: project.dependencies },
  };
  const visit = (repoPath, optional) => {
    const entry = repo[repoPath];
    const name = workspaceDir.get(repoPath);
    const target = relocate(repoPath);
    const seen = packages[target];
    if (seen && (optional || !seen.optional)) return;
    if (seen)
      delete seen.optional; // reached as required after all: so are its own dependencies
    else if (name) {
      const t = byName.get(name);
      if (!t) throw new Error(`${name} is needed but was not packed`);
      const m = t.manifest;
      packages[target] = {
        version: m.version,
        resolved: `file:${t.path}`,
        integrity: `sha512-${createHash('sha512').update(readFileSync(t.path)).digest('base64')}`,
        ...Object.fromEntries(['bin', ...DEPS].filter((k) => m[k]).map((k) => [k, m[k]])),
      };
    } else {
      packages[target] = Object.fromEntries(
        [...KEEP, ...DEPS].filter((k) => entry[k]).map((k) => [k, entry[k]]),
      );
    }
    if (optional && !seen) packages[target].optional = true;
    const manifest = name ? byName.get(name).manifest : entry;
    const deps = [
      ...Object.keys(manifest.dependencies ?? {}).map((d) => [d, optional]),
      ...Object.keys(manifest.optionalDependencies ?? {}).map((d) => [d, true]),
      // npm installs peer dependencies too, unless marked optional
      ...Object.keys(manifest.peerDependencies ?? {}).map((d) => [
        d,
        optional || manifest.peerDependenciesMeta?.[d]?.optional === true,
      ]),
    ];
    for (const [dep, opt] of deps) {
      const at = resolve(repoPath, dep);
      if (at === undefined) {
        if (opt) continue; // an optional dependency this platform never installed
        throw new Error(`${dep} (needed by ${name ?? repoPath}) is not in package-lock.json`);
      }
      visit(at, opt);
    }
  };
  for (const t of tarballs) {
    const dir = [...workspaceDir].find(([, n]) => n === t.name)?.[0];
    if (!dir) throw new Error(`${t.name} is not a workspace of this checkout`);
    visit(dir, false);
  }
  return { name: project.name, lockfileVersion: 3, requires: true, packages };
}

import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LoggerContext } from './logger.js';

const VERSION_DIR = /^version_(\d+)$/;

/** The next free `version_<n>` number under `parent` (0 when there is none). */
export function nextVersion(parent: string): number {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let next = 0;
  for (const name of names) {
    const m = VERSION_DIR.exec(name);
    if (m) next = Math.max(next, Number(m[1]) + 1);
  }
  return next;
}

/**
 * Creates and returns `<root>/<name>/<version>`. A number becomes `version_<n>`, a string is used as is
 * (so a resumed run can write into its old folder). Without a version the next free one is claimed
 * with a non-recursive mkdir, which fails if another process took it first; then the next is tried.
 */
export function claimRunDir(root: string, name: string, version?: number | string): string {
  const parent = join(root, name);
  if (version !== undefined) {
    const dir = join(parent, typeof version === 'number' ? `version_${checkVersion(version)}` : version);
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  mkdirSync(parent, { recursive: true });
  for (let attempt = 0; attempt < 1000; attempt++) {
    const dir = join(parent, `version_${nextVersion(parent)}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`could not claim a version folder under ${parent}: too many concurrent writers`);
}

function checkVersion(version: number): number {
  if (!Number.isInteger(version) || version < 0) {
    throw new TypeError(
      `logger option version: expected a non-negative integer or a folder name, got ${version}`,
    );
  }
  return version;
}

// One claimed folder per (Trainer context, root, name): a CSV and a TensorBoard logger of the same run
// land in the same version_<n> instead of version_0 and version_1.
const shared = new WeakMap<LoggerContext, Map<string, string>>();

export function sharedRunDir(ctx: LoggerContext | undefined, root: string, name: string): string {
  if (!ctx) return claimRunDir(root, name);
  let dirs = shared.get(ctx);
  if (!dirs) {
    dirs = new Map();
    shared.set(ctx, dirs);
  }
  const key = join(root, name);
  let dir = dirs.get(key);
  if (!dir) {
    dir = claimRunDir(root, name);
    dirs.set(key, dir);
  }
  return dir;
}

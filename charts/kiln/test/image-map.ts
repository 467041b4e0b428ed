// The chart's images played from this checkout by the local cluster's node agent: each platform target of
// deploy/images/platform.Dockerfile maps to the checkout with the WORKDIR, ENV and ENTRYPOINT the
// Dockerfile gives it (the image copies the repository to /kiln). Where an app has no compiled dist/
// yet, NODE_ENV=production is left out so its bin/ runs the sources through SWC instead.
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { ImageMap } from '@kiln/local-cluster';
import { imageConfig } from '../../../deploy/images/dockerfile.js';
import { repoRoot } from './helm.js';

export const IMAGE_REGISTRY = 'registry.example/kiln';
const TARGETS = { operator: 'kiln-operator', api: 'kiln-api', worker: 'kiln-worker', dashboard: 'kiln-web' };

export function platformImageMap(): { images: ImageMap; fromSource: string[] } {
  const file = join(repoRoot, 'deploy/images/platform.Dockerfile');
  const images: ImageMap = {};
  const fromSource: string[] = [];
  for (const [target, repository] of Object.entries(TARGETS)) {
    const c = imageConfig(file, target);
    const env = { ...c.env };
    const script = c.entrypoint?.[1]
      ? posix.relative('/kiln', posix.resolve(c.workdir, c.entrypoint[1]))
      : '';
    const dist = script.replace(/bin\/[^/]+$/, 'dist/main.js');
    if (script.startsWith('apps/') && script.includes('/bin/') && !existsSync(join(repoRoot, dist))) {
      delete env.NODE_ENV;
      fromSource.push(target);
    }
    images[`${IMAGE_REGISTRY}/${repository}`] = {
      root: join(repoRoot, posix.relative('/kiln', c.workdir)),
      workdir: c.workdir,
      entrypoint: c.entrypoint,
      env,
    };
  }
  return { images, fromSource };
}

// Images are never pulled. An image name maps to a local "command root": the directory that stands in
// for the image's filesystem, so the same pod spec runs here and on a real cluster.
import { isAbsolute, join, relative } from 'node:path';

export interface ImageRoot {
  /** host directory playing the image's working tree, e.g. the repository checkout */
  root: string;
  /** the image's path that `root` stands for (its WORKDIR); container paths under it map into root */
  workdir?: string;
  /** used when the container has no `command` (the image's ENTRYPOINT) */
  entrypoint?: string[];
  /** extra environment the image would have set (ENV) */
  env?: Record<string, string>;
}

/**
 * Keys are matched in this order: the full reference (`registry.example/kiln-trainer:0.1`), the reference
 * without tag or digest (`registry.example/kiln-trainer`), then `*`. Values are a root directory or an
 * ImageRoot. Images that match nothing run from the pod's own scratch directory with the host's PATH.
 */
export type ImageMap = Record<string, string | ImageRoot>;

export function parseImageMap(json: string | undefined, source = 'KILN_IMAGE_MAP'): ImageMap {
  if (!json) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new Error(
      `${source}: expected a JSON object of image → directory, got invalid JSON (${(err as Error).message})`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(
      `${source}: expected a JSON object of image → directory or {root, workdir, entrypoint, env}`,
    );
  }
  for (const [image, value] of Object.entries(parsed)) {
    const root = typeof value === 'string' ? value : (value as ImageRoot)?.root;
    if (typeof root !== 'string' || !isAbsolute(root)) {
      throw new Error(`${source}["${image}"]: expected an absolute directory path as the image's root`);
    }
  }
  return parsed as ImageMap;
}

function stripTag(image: string): string {
  const at = image.indexOf('@');
  const noDigest = at >= 0 ? image.slice(0, at) : image;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
}

export function resolveImage(map: ImageMap, image: string): ImageRoot | undefined {
  const hit = map[image] ?? map[stripTag(image)] ?? map['*'];
  if (hit === undefined) return undefined;
  return typeof hit === 'string' ? { root: hit } : hit;
}

/** Maps a path inside the image to the host: paths under the image's workdir land under root. */
export function mapImagePath(img: ImageRoot | undefined, path: string): string {
  if (!img?.workdir || !isAbsolute(path)) return path;
  const rel = relative(img.workdir, path);
  if (rel.startsWith('..') || isAbsolute(rel)) return path;
  return join(img.root, rel);
}

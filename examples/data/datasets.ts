// Reads the example data sets that scripts/datasets/fetch.py puts in the Kiln cache. A missing or
// damaged file is an error that says which command fetches it.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

interface DatasetSpec {
  version: string;
  file: string;
  sha256: string;
}

const manifestPath = new URL('../../scripts/datasets/manifest.json', import.meta.url);
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, DatasetSpec>;

export type DatasetName = 'digits' | 'shakespeare';

export function cacheDir(): string {
  return process.env.KILN_CACHE || join(homedir(), '.cache', 'kiln');
}

/** Where a data set's file lives: `<cache>/datasets/<name>-<version>/<file>`. */
export function datasetPath(name: DatasetName): string {
  const spec = manifest[name];
  if (!spec) throw new Error(`unknown data set '${name}'; known: ${Object.keys(manifest).join(', ')}`);
  return join(cacheDir(), 'datasets', `${name}-${spec.version}`, spec.file);
}

/** The file's bytes, checked against the manifest's SHA-256. */
export function readDataset(name: DatasetName): Buffer {
  const path = datasetPath(name);
  const fetch = `python3 scripts/datasets/fetch.py ${name}`;
  if (!existsSync(path)) throw new Error(`the ${name} data set is not at ${path}; fetch it with: ${fetch}`);
  const bytes = readFileSync(path);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== manifest[name]!.sha256) {
    throw new Error(
      `${path} is damaged (SHA-256 ${sha}, expected ${manifest[name]!.sha256}); fetch it again with: ${fetch}`,
    );
  }
  return bytes;
}

export interface Digits {
  /** count × 64 pixel intensities scaled from 0..16 to 0..1, row-major 8×8 images */
  images: Float32Array;
  /** count labels, 0..9 */
  labels: Int32Array;
  count: number;
}

/** scikit-learn's 8×8 digits: 1,797 images, each a CSV row of 64 pixels (0..16) and the label. */
export function loadDigits(): Digits {
  const lines = gunzipSync(readDataset('digits')).toString('utf8').trimEnd().split('\n');
  const images = new Float32Array(lines.length * 64);
  const labels = new Int32Array(lines.length);
  lines.forEach((line, row) => {
    const cells = line.split(',');
    if (cells.length !== 65)
      throw new Error(`digits.csv line ${row + 1}: expected 65 values, got ${cells.length}`);
    for (let i = 0; i < 64; i++) images[row * 64 + i] = Number(cells[i]) / 16;
    const label = Number(cells[64]);
    if (!Number.isInteger(label) || label < 0 || label > 9) {
      throw new Error(`digits.csv line ${row + 1}: label must be 0..9, got ${cells[64]}`);
    }
    labels[row] = label;
  });
  return { images, labels, count: lines.length };
}

/** Shakespeare's As You Like It as plain ASCII text (about 125 kB). */
export function loadShakespeare(): string {
  return readDataset('shakespeare').toString('utf8');
}

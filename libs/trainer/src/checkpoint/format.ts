import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CheckpointState, StoredTensor, TensorDType } from './state.js';

/**
 * One checkpoint is one file, so a rename makes it appear whole or not at all:
 *
 *   "KILNCKPT" | u32 format version | u32 manifest bytes | u64 total file bytes   (24-byte header)
 *   manifest (UTF-8 JSON: every non-tensor field + a tensor index of offsets into the payload)
 *   payload  (raw little-endian tensor bytes, each 8-byte aligned)
 *   sha256 of everything above (32 bytes)
 *
 * The header's total size tells a truncated file from a corrupted one; the trailing hash catches any
 * flipped byte; the version lets a newer Kiln refuse politely instead of misreading.
 */
export const CHECKPOINT_FORMAT_VERSION = 1;
const MAGIC = Buffer.from('KILNCKPT', 'ascii');
const HEADER_BYTES = 24;
const HASH_BYTES = 32;

export class CheckpointError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`checkpoint ${path}: ${message}`);
    this.name = 'CheckpointError';
  }
}

interface TensorIndexEntry {
  name: string;
  dtype: TensorDType;
  shape: number[];
  offset: number;
  byteLength: number;
}

// JSON has no Infinity/NaN; monitors start at ±Infinity, so encode them explicitly.
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return { $num: String(value) };
  return value;
}
function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && '$num' in value && Object.keys(value).length === 1) {
    return Number((value as { $num: string }).$num);
  }
  return value;
}

export function encodeCheckpoint(state: CheckpointState): Buffer {
  const index: TensorIndexEntry[] = [];
  let offset = 0;
  for (const [name, t] of state.tensors) {
    const byteLength = t.values.byteLength;
    index.push({ name, dtype: t.dtype, shape: t.shape, offset, byteLength });
    offset += Math.ceil(byteLength / 8) * 8;
  }
  const { tensors: _t, ...rest } = state;
  const manifest = Buffer.from(
    JSON.stringify(
      { ...rest, formatVersion: CHECKPOINT_FORMAT_VERSION, tensorIndex: index, payloadBytes: offset },
      replacer,
    ),
    'utf8',
  );
  const total = HEADER_BYTES + manifest.length + offset + HASH_BYTES;
  const buf = Buffer.alloc(total);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(CHECKPOINT_FORMAT_VERSION, 8);
  buf.writeUInt32LE(manifest.length, 12);
  buf.writeBigUInt64LE(BigInt(total), 16);
  manifest.copy(buf, HEADER_BYTES);
  const payloadStart = HEADER_BYTES + manifest.length;
  for (const e of index) {
    const t = state.tensors.get(e.name)!;
    Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength).copy(buf, payloadStart + e.offset);
  }
  createHash('sha256')
    .update(buf.subarray(0, total - HASH_BYTES))
    .digest()
    .copy(buf, total - HASH_BYTES);
  return buf;
}

export function decodeCheckpoint(buf: Buffer, path: string): CheckpointState {
  if (buf.length < HEADER_BYTES || !buf.subarray(0, 8).equals(MAGIC)) {
    if (buf.length < 8 && MAGIC.subarray(0, buf.length).equals(buf)) {
      throw new CheckpointError(path, `truncated: only ${buf.length} bytes, not even a header`);
    }
    throw new CheckpointError(path, 'not a Kiln checkpoint (the file does not start with "KILNCKPT")');
  }
  const version = buf.readUInt32LE(8);
  if (version > CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(
      path,
      `format version ${version} is newer than this Kiln reads (up to ${CHECKPOINT_FORMAT_VERSION}); upgrade @kiln/trainer to load it`,
    );
  }
  if (version < 1) throw new CheckpointError(path, `invalid format version ${version}`);
  const manifestLen = buf.readUInt32LE(12);
  const total = Number(buf.readBigUInt64LE(16));
  if (buf.length < total) {
    throw new CheckpointError(
      path,
      `truncated: ${buf.length} of ${total} bytes present (was the save interrupted?)`,
    );
  }
  if (buf.length > total)
    throw new CheckpointError(path, `corrupted: ${buf.length - total} unexpected bytes after the end`);
  const expected = buf.subarray(total - HASH_BYTES);
  const actual = createHash('sha256')
    .update(buf.subarray(0, total - HASH_BYTES))
    .digest();
  if (!actual.equals(expected)) {
    throw new CheckpointError(
      path,
      'corrupted: sha256 of the contents does not match the one stored at the end',
    );
  }
  const manifest = JSON.parse(
    buf.subarray(HEADER_BYTES, HEADER_BYTES + manifestLen).toString('utf8'),
    reviver,
  ) as Omit<CheckpointState, 'tensors'> & { tensorIndex: TensorIndexEntry[]; payloadBytes: number };
  const payloadStart = HEADER_BYTES + manifestLen;
  const tensors = new Map<string, StoredTensor>();
  for (const e of manifest.tensorIndex) {
    const start = payloadStart + e.offset;
    const bytes = new Uint8Array(e.byteLength);
    bytes.set(buf.subarray(start, start + e.byteLength));
    const values =
      e.dtype === 'float32'
        ? new Float32Array(bytes.buffer)
        : e.dtype === 'int32'
          ? new Int32Array(bytes.buffer)
          : bytes;
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, values });
  }
  const { tensorIndex: _i, payloadBytes: _p, ...rest } = manifest;
  return { ...rest, tensors };
}

export function checkpointSha256(buf: Buffer): string {
  return buf.subarray(buf.length - HASH_BYTES).toString('hex');
}

/**
 * Writes atomically: a temp file in the same directory, fsync, rename over the target, fsync the
 * directory. A crash at any point leaves either the old file or the new one, never a mix.
 */
export async function writeCheckpointFile(
  path: string,
  state: CheckpointState,
): Promise<{ sizeBytes: number; sha256: string }> {
  const buf = encodeCheckpoint(state);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(buf);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  try {
    const dir = await open(dirname(path), 'r');
    await dir.sync();
    await dir.close();
  } catch {
    // some filesystems refuse fsync on a directory; the rename is still atomic
  }
  return { sizeBytes: buf.length, sha256: checkpointSha256(buf) };
}

export async function readCheckpointFile(path: string): Promise<CheckpointState> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CheckpointError(path, 'no such file');
    if (code === 'EISDIR') throw new CheckpointError(path, 'is a directory, expected a .ckpt file');
    throw err;
  }
  return decodeCheckpoint(buf, path);
}

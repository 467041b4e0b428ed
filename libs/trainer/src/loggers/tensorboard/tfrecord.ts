import { crc32c } from '@node-rs/crc32';

// TFRecord framing, as TensorFlow writes event files:
//   uint64 length (little-endian) · uint32 masked_crc32c(length) · data · uint32 masked_crc32c(data)
// The mask keeps a CRC of data that itself holds CRCs from being trivially zero.

const MASK_DELTA = 0xa282ead8;

export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(Buffer.from(data.buffer, data.byteOffset, data.byteLength)) >>> 0;
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0;
}

/** Frames one record. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/**
 * Reads every record, verifying both CRCs. A file still being written may end mid-record; with
 * `allowTruncatedTail` that tail is ignored (as TensorBoard does), otherwise it is an error.
 */
export function readRecords(buf: Uint8Array, opts: { allowTruncatedTail?: boolean } = {}): Uint8Array[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: Uint8Array[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (pos + 12 > buf.length) return truncated(records, pos, opts);
    const len = Number(view.getBigUint64(pos, true));
    if (view.getUint32(pos + 8, true) !== maskedCrc32c(buf.subarray(pos, pos + 8))) {
      throw new Error(`TFRecord: length CRC mismatch at byte ${pos}`);
    }
    if (pos + 12 + len + 4 > buf.length) return truncated(records, pos, opts);
    const data = buf.subarray(pos + 12, pos + 12 + len);
    if (view.getUint32(pos + 12 + len, true) !== maskedCrc32c(data)) {
      throw new Error(`TFRecord: data CRC mismatch in the record at byte ${pos}`);
    }
    records.push(data);
    pos += 12 + len + 4;
  }
  return records;
}

function truncated(records: Uint8Array[], pos: number, opts: { allowTruncatedTail?: boolean }): Uint8Array[] {
  if (opts.allowTruncatedTail) return records;
  throw new Error(`TFRecord: file ends inside the record at byte ${pos}`);
}

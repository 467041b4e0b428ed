// Encoders for COPY's binary format: numbers go as their 4/8 bytes, skipping the float → text → float
// round trip that dominates the text format on both the Node and the Postgres side.
import type { PointColumns } from './point-store.js';

const signature = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const headerBytes = signature.length + 8;
const fieldCount = 4;
// Per row: field count, then (length, bytes) per field: int4, int8, float8, float8|timestamptz.
const rowBytes = 2 + (4 + 4) + 3 * (4 + 8);

// timestamptz travels as microseconds since 2000-01-01T00:00:00Z.
const pgEpochMs = Date.UTC(2000, 0, 1);
const two32 = 2 ** 32;

/** Writes an integer as int8 without a BigInt while it is exactly representable (all steps are). */
function writeInt64(buf: Buffer, v: number, o: number): number {
  if (Number.isSafeInteger(v)) {
    const hi = Math.floor(v / two32);
    buf.writeInt32BE(hi, o);
    buf.writeUInt32BE(v - hi * two32, o + 4);
    return o + 8;
  }
  return buf.writeBigInt64BE(BigInt(v), o);
}

/** Epoch milliseconds (fractions allowed) as timestamptz microseconds since 2000. */
function toMicros(ms: number): number | bigint {
  const us = Math.round((ms - pgEpochMs) * 1000);
  if (Number.isSafeInteger(us)) return us;
  // Beyond 2^53 µs (after year 2255) a double cannot hold every microsecond: whole ms, then the rest.
  const whole = Math.floor(ms);
  return BigInt(whole - pgEpochMs) * 1000n + BigInt(Math.round((ms - whole) * 1000));
}

/** Postgres rounds a timestamptz to the column's precision when it is stored. */
function writeTimestamp(buf: Buffer, ms: number, o: number): number {
  const us = toMicros(ms);
  return typeof us === 'bigint' ? buf.writeBigInt64BE(us, o) : writeInt64(buf, us, o);
}

/**
 * The wall time metric_points keeps for `ms` as `(extract(epoch FROM wall_time) * 1000)::float8` reads it
 * back: timestamptz(3) holds whole milliseconds, halves rounded away from Postgres' epoch (2000-01-01),
 * as its AdjustTimestampForTypmod does. Rollups written from Node carry the time a read would return.
 */
export function storedMs(ms: number): number {
  const us = toMicros(ms);
  if (typeof us === 'number' && Math.abs(us) < 2 ** 50) {
    const whole = Math.floor((Math.abs(us) + 500) / 1000);
    return (us < 0 ? -whole : whole) + pgEpochMs;
  }
  const big = BigInt(us);
  const whole = ((big < 0n ? -big : big) + 500n) / 1000n;
  return Number(big < 0n ? -whole : whole) + pgEpochMs;
}

/**
 * Points as a COPY binary stream. `time: 'timestamptz'` targets metric_points itself
 * (series_id int4, step int8, value float8, wall_time timestamptz); `time: 'ms'` targets a staging
 * table whose last column is float8 epoch milliseconds.
 */
export function encodePoints(p: PointColumns, time: 'timestamptz' | 'ms'): Buffer {
  const n = p.seriesIds.length;
  const buf = Buffer.allocUnsafe(headerBytes + n * rowBytes + 2);
  let o = signature.copy(buf, 0);
  o = buf.writeInt32BE(0, o); // flags
  o = buf.writeInt32BE(0, o); // header extension length
  const { seriesIds, steps, values, times } = p;
  for (let i = 0; i < n; i++) {
    o = buf.writeInt16BE(fieldCount, o);
    o = buf.writeInt32BE(4, o);
    o = buf.writeInt32BE(seriesIds[i]!, o);
    o = buf.writeInt32BE(8, o);
    o = writeInt64(buf, steps[i]!, o);
    o = buf.writeInt32BE(8, o);
    o = buf.writeDoubleBE(values[i]!, o);
    o = buf.writeInt32BE(8, o);
    o = time === 'ms' ? buf.writeDoubleBE(times[i]!, o) : writeTimestamp(buf, times[i]!, o);
  }
  buf.writeInt16BE(-1, o); // trailer
  return buf;
}

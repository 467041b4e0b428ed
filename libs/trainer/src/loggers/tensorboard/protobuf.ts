// The protobuf wire format, the few pieces TensorBoard's event files need: varints, 64/32-bit fixed
// values and length-delimited fields. A dependency such as protobufjs would bring a code generator and
// the .proto files of TensorFlow; four message types do not need it.

enum Wire {
  Varint = 0,
  Fixed64 = 1,
  Bytes = 2,
  Fixed32 = 5,
}

const utf8 = new TextEncoder();
const SINGLE_BYTES = Array.from({ length: 0x80 }, (_, i) => Uint8Array.of(i));

/** Builds one message; nested messages are built by their own writer and added with `message`. */
export class ProtoWriter {
  private parts: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  private key(field: number, wire: Wire): void {
    this.varint((field << 3) | wire);
  }

  private varint(value: number | bigint): void {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
      if (value < 0x80) {
        this.push(SINGLE_BYTES[value]!); // keys and short lengths: no allocation
        return;
      }
      // the common case without BigInt: 7 bits a byte, high bit set on all but the last
      const out: number[] = [];
      let v = value;
      while (v >= 0x80) {
        out.push((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      out.push(v);
      this.push(Uint8Array.from(out));
      return;
    }
    // int64 negatives are 10-byte two's complement, as protobuf encodes them
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
    this.push(Uint8Array.from(out));
  }

  uint(field: number, value: number | bigint): this {
    this.key(field, Wire.Varint);
    this.varint(value);
    return this;
  }

  bool(field: number, value: boolean): this {
    return this.uint(field, value ? 1 : 0);
  }

  double(field: number, value: number): this {
    this.key(field, Wire.Fixed64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    this.push(b);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, Wire.Fixed32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, Wire.Bytes);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const w = new ProtoWriter();
    build(w);
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

/** One field as read off the wire; which member is set depends on the wire type. */
export interface ProtoField {
  field: number;
  wire: number;
  varint?: bigint;
  fixed64?: DataView;
  fixed32?: DataView;
  bytes?: Uint8Array;
}

/** Splits a message into its fields in order; throws on truncated or malformed input. */
export function readFields(buf: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) throw new Error('protobuf: truncated varint');
      const byte = buf[pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new Error('protobuf: varint longer than 10 bytes');
  };
  const take = (n: number): number => {
    if (pos + n > buf.length)
      throw new Error(`protobuf: field runs past the end (${pos + n} > ${buf.length})`);
    const at = pos;
    pos += n;
    return at;
  };
  while (pos < buf.length) {
    const key = readVarint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) throw new Error('protobuf: field number 0');
    if (wire === Wire.Varint) fields.push({ field, wire, varint: readVarint() });
    else if (wire === Wire.Fixed64)
      fields.push({ field, wire, fixed64: new DataView(buf.buffer, buf.byteOffset + take(8), 8) });
    else if (wire === Wire.Fixed32)
      fields.push({ field, wire, fixed32: new DataView(buf.buffer, buf.byteOffset + take(4), 4) });
    else if (wire === Wire.Bytes) {
      const len = Number(readVarint());
      const at = take(len);
      fields.push({ field, wire, bytes: buf.subarray(at, at + len) });
    } else throw new Error(`protobuf: unsupported wire type ${wire} for field ${field}`);
  }
  return fields;
}

const utf8d = new TextDecoder('utf-8', { fatal: true });
export const decodeString = (b: Uint8Array | undefined): string => (b ? utf8d.decode(b) : '');

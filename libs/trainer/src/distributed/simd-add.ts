/**
 * A float32 add kernel in WebAssembly SIMD (f32x4.add), for the all-reduce hot path: V8's scalar loop
 * over Float32Arrays adds well under 1 GB/s on these machines, slower than the loopback socket it
 * keeps up with (bench/ddp/allreduce.ts prints both). The module is 150 bytes, assembled below rather
 * than shipped as a binary so it can be read:
 *
 *   (func (export "add") (param $dst i32) (param $src i32) (param $n i32) (local $end i32)
 *     end = dst + n*4
 *     while dst + 16 <= end: v128.store(dst, f32x4.add(v128.load(dst), v128.load(src))); dst += 16; src += 16
 *     while dst < end:       f32.store(dst, f32.add(f32.load(dst), f32.load(src)));      dst += 4;  src += 4)
 *
 * The memory is imported, so every buffer gets its own fixed-size memory (growing one would detach
 * the Float32Array views handed out on it).
 */

const body = [
  0x01,
  0x01,
  0x7f, // one i32 local: $end
  0x20,
  0x02,
  0x41,
  0x02,
  0x74,
  0x20,
  0x00,
  0x6a,
  0x21,
  0x03, // end = (n << 2) + dst
  0x02,
  0x40,
  0x03,
  0x40, // block loop
  0x20,
  0x00,
  0x41,
  0x10,
  0x6a,
  0x20,
  0x03,
  0x4b,
  0x0d,
  0x01, // br_if out when dst + 16 > end
  0x20,
  0x00, // store address
  0x20,
  0x00,
  0xfd,
  0x00,
  0x00,
  0x00, // v128.load dst
  0x20,
  0x01,
  0xfd,
  0x00,
  0x00,
  0x00, // v128.load src
  0xfd,
  0xe4,
  0x01, // f32x4.add
  0xfd,
  0x0b,
  0x00,
  0x00, // v128.store
  0x20,
  0x00,
  0x41,
  0x10,
  0x6a,
  0x21,
  0x00, // dst += 16
  0x20,
  0x01,
  0x41,
  0x10,
  0x6a,
  0x21,
  0x01, // src += 16
  0x0c,
  0x00,
  0x0b,
  0x0b, // br loop; end; end
  0x02,
  0x40,
  0x03,
  0x40, // block loop (scalar tail)
  0x20,
  0x00,
  0x20,
  0x03,
  0x4f,
  0x0d,
  0x01, // br_if out when dst >= end
  0x20,
  0x00,
  0x20,
  0x00,
  0x2a,
  0x02,
  0x00, // f32.load dst
  0x20,
  0x01,
  0x2a,
  0x02,
  0x00, // f32.load src
  0x92, // f32.add
  0x38,
  0x02,
  0x00, // f32.store
  0x20,
  0x00,
  0x41,
  0x04,
  0x6a,
  0x21,
  0x00, // dst += 4
  0x20,
  0x01,
  0x41,
  0x04,
  0x6a,
  0x21,
  0x01, // src += 4
  0x0c,
  0x00,
  0x0b,
  0x0b,
  0x0b, // end func
];

function section(id: number, content: number[]): number[] {
  // every section here is under 128 bytes, so its size is a one-byte LEB128
  return [id, content.length, ...content];
}

const wasmBytes = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00,
  ...section(1, [0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00]), // type: (i32 i32 i32) -> ()
  ...section(2, [0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x01]), // import env.memory
  ...section(3, [0x01, 0x00]), // one function of type 0
  ...section(7, [0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00]), // export "add"
  ...section(10, [0x01, body.length, ...body]), // code
]);

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable (then the JS loop is used). */
function simdModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = WebAssembly.validate(wasmBytes) ? new WebAssembly.Module(wasmBytes) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

/** A fixed-size WebAssembly memory with the add kernel bound to it. */
export class SimdMemory {
  readonly memory: WebAssembly.Memory;
  readonly bytes: Uint8Array;
  /** `add(dstByteOffset, srcByteOffset, n)`: n float32s at dst += those at src, within this memory. */
  readonly add: (dst: number, src: number, n: number) => void;

  private constructor(byteLength: number, mod: WebAssembly.Module) {
    const pages = Math.max(1, Math.ceil(byteLength / 65536));
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const instance = new WebAssembly.Instance(mod, { env: { memory: this.memory } });
    this.add = instance.exports.add as (dst: number, src: number, n: number) => void;
    this.bytes = new Uint8Array(this.memory.buffer);
  }

  static create(byteLength: number): SimdMemory | null {
    const mod = simdModule();
    return mod ? new SimdMemory(byteLength, mod) : null;
  }
}

/** Buffers from `allocReduceBuffer`: their memory and where its staging area starts. */
const arenas = new WeakMap<ArrayBufferLike, { mem: SimdMemory; staging: number; stagingBytes: number }>();

export const ARENA_STAGING_BYTES = 4 << 20;

/**
 * A Float32Array the all-reduce can sum into without any copy: it lives in a WebAssembly memory that
 * also holds the staging area incoming chunks land in, so the SIMD kernel adds in place. Falls back
 * to a plain Float32Array where SIMD is unavailable.
 */
export function allocReduceBuffer(n: number): Float32Array {
  const data = Math.ceil((n * 4) / 16) * 16;
  const mem = SimdMemory.create(data + ARENA_STAGING_BYTES);
  if (!mem) return new Float32Array(n);
  arenas.set(mem.memory.buffer, { mem, staging: data, stagingBytes: ARENA_STAGING_BYTES });
  return new Float32Array(mem.memory.buffer, 0, n);
}

export function arenaOf(buf: ArrayBufferView) {
  return arenas.get(buf.buffer);
}

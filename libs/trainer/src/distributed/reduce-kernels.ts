/**
 * Element-wise reductions on the all-reduce hot path: `dst[dOff + i] = op(dst[dOff + i], src[i])`.
 * One function per dtype and op keeps each loop monomorphic so V8 compiles it to a tight loop.
 */
export type ReduceOp = 'sum' | 'max' | 'min';
export type FloatArray = Float32Array | Float64Array;
export type Kernel = (dst: FloatArray, dOff: number, src: FloatArray, n: number) => void;

function sum32(dst: Float32Array, dOff: number, src: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dst[dOff + i] = (dst[dOff + i] as number) + (src[i] as number);
}
function sum64(dst: Float64Array, dOff: number, src: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) dst[dOff + i] = (dst[dOff + i] as number) + (src[i] as number);
}
function max32(dst: Float32Array, dOff: number, src: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const s = src[i] as number;
    if (s > (dst[dOff + i] as number)) dst[dOff + i] = s;
  }
}
function max64(dst: Float64Array, dOff: number, src: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const s = src[i] as number;
    if (s > (dst[dOff + i] as number)) dst[dOff + i] = s;
  }
}
function min32(dst: Float32Array, dOff: number, src: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const s = src[i] as number;
    if (s < (dst[dOff + i] as number)) dst[dOff + i] = s;
  }
}
function min64(dst: Float64Array, dOff: number, src: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const s = src[i] as number;
    if (s < (dst[dOff + i] as number)) dst[dOff + i] = s;
  }
}

const kernels = {
  float32: { sum: sum32, max: max32, min: min32 },
  float64: { sum: sum64, max: max64, min: min64 },
} as const;

export function kernelFor(dtype: 'float32' | 'float64', op: ReduceOp): Kernel {
  return kernels[dtype][op] as Kernel;
}

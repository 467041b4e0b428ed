/** Lightning's names for numeric precision; the Trainer option `precision`. */
export type Precision = '32' | '16-mixed' | 'bf16-mixed';
export const PRECISIONS: readonly Precision[] = ['32', '16-mixed', 'bf16-mixed'];

/**
 * Why each backend cannot run 16-bit math, checked against tfjs 4.22: tfjs-core's DataType is
 * float32 | int32 | bool | complex64 | string (no float16/bfloat16), and tfjs-node's binding converts
 * only TF_FLOAT, TF_INT32, TF_INT64, TF_BOOL, TF_STRING, TF_COMPLEX64 and TF_RESOURCE tensors, so not
 * even the native backend can hold a half-precision tensor. WebGL may store float16 textures, but that
 * is a storage detail of a browser backend, not mixed-precision training.
 */
const NO_HALF: Record<string, string> = {
  cpu: 'the pure-JS cpu backend computes in float32 only',
  wasm: 'the wasm backend (XNNPACK) exposes float32 kernels only',
  tensorflow:
    "tfjs-node 4.22 cannot hold float16/bfloat16 tensors (tfjs-core's dtypes are float32|int32|bool|complex64|string)",
};

export class PrecisionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrecisionError';
  }
}

export interface PrecisionPlan {
  precision: Precision;
  /** dtype for parameters and activations. */
  computeDtype: 'float32';
  /** Whether the Trainer should scale the loss (fp16 only: bf16 has float32's exponent range). */
  lossScaling: boolean;
}

/**
 * Checks a `precision` option against the active backend. Returns the plan the Trainer follows, or
 * throws naming the field, the backend and why. Mixed precision plans exist in this shape so the Trainer
 * needs no change when a backend gains half-precision tensors.
 */
export function resolvePrecision(precision: unknown, backendName: string): PrecisionPlan {
  const p = precision === undefined ? '32' : precision === 32 ? '32' : precision;
  if (!PRECISIONS.includes(p as Precision)) {
    throw new PrecisionError(
      `'precision' must be one of ${PRECISIONS.map((x) => `'${x}'`).join(' | ')}, got ${JSON.stringify(precision)}`,
    );
  }
  if (p === '32') return { precision: '32', computeDtype: 'float32', lossScaling: false };
  const why = NO_HALF[backendName] ?? `the '${backendName}' backend has no float16/bfloat16 support in tfjs`;
  throw new PrecisionError(
    `precision '${p}' is not supported on the '${backendName}' backend: ${why}. Use precision '32'.`,
  );
}

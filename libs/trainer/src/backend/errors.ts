import type { BackendName } from './types.js';

/** The one command that makes the native backends importable on this repo (see scripts/tensorflow/). */
export const NATIVE_INSTALL_COMMAND = 'bash scripts/tensorflow/install.sh';
export const NATIVE_GPU_INSTALL_COMMAND = 'bash scripts/tensorflow/install.sh --gpu (on a CUDA machine)';

/** A backend was asked for by name but its package (or native library) is not there. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    readonly reason: string,
    readonly installCommand: string,
  ) {
    super(`backend '${backend}' is not available: ${reason}. Install it with: ${installCommand}`);
    this.name = 'BackendUnavailableError';
  }
}

/** `accelerator: 'gpu'` and no GPU backend is usable: each one's reason and fix. */
export class NoGpuBackendError extends BackendUnavailableError {
  constructor(readonly causes: BackendUnavailableError[]) {
    super('gpu', causes.map((c) => c.reason).join('; '), causes.map((c) => c.installCommand).join(' | '));
    this.message = `accelerator 'gpu': no GPU backend is usable:\n${causes.map((c) => `  - ${c.message}`).join('\n')}`;
    this.name = 'NoGpuBackendError';
  }
}

/** Options that make no sense get an error naming the field and what was expected. */
export class BackendOptionError extends Error {
  constructor(field: string, expected: string, got: unknown) {
    super(`selectBackend: '${field}' must be ${expected}, got ${JSON.stringify(got)}`);
    this.name = 'BackendOptionError';
  }
}

/** Kernels some backends lack, and what to do about it. */
const KNOWN_GAPS: Record<string, string> = {
  'wasm:Conv2DBackpropFilter':
    "the wasm backend cannot train convolutions (no Conv2DBackpropFilter); use backend 'tensorflow' or 'cpu'",
  'wasm:Conv2DBackpropInput':
    "the wasm backend cannot train stacked convolutions (no Conv2DBackpropInput); use backend 'tensorflow' or 'cpu'",
};

const PATTERNS: RegExp[] = [
  /Kernel '([^']+)' not registered for backend '([^']+)'/,
  /'([^']+)' not yet implemented or not found in the registry/,
];

/**
 * Turns tfjs's "kernel X not registered" failures into an error naming the kernel, the backend and
 * the fix. Other errors come back unchanged, so callers can always rethrow the result.
 */
export function explainKernelError(err: unknown, backendName: string): Error {
  const error = err instanceof Error ? err : new Error(String(err));
  for (const pattern of PATTERNS) {
    const m = pattern.exec(error.message);
    if (!m) continue;
    const kernel = m[1] as string;
    const backend = m[2] ?? backendName;
    const fix =
      KNOWN_GAPS[`${backend}:${kernel}`] ??
      `choose another backend (Trainer option backend: 'tensorflow' | 'webgpu' | 'cpu' | 'wasm'); 'tensorflow' implements the most kernels (${NATIVE_INSTALL_COMMAND})`;
    const out = new Error(`kernel '${kernel}' is not implemented by the '${backend}' backend: ${fix}`, {
      cause: error,
    });
    out.name = 'KernelNotSupportedError';
    return out;
  }
  return error;
}

export function isBackendName(x: unknown): x is BackendName {
  return x === 'tensorflow' || x === 'webgpu' || x === 'cpu' || x === 'wasm';
}

import * as tf from '@tensorflow/tfjs';
import {
  BackendOptionError,
  BackendUnavailableError,
  NATIVE_GPU_INSTALL_COMMAND,
  NATIVE_INSTALL_COMMAND,
} from './errors.js';
import type { Accelerator } from './types.js';

/** What loading tfjs-node(-gpu) left behind; TensorFlow reads its thread settings once, at load. */
export interface NativeState {
  accelerator: Accelerator;
  packageName: string;
  tfjsNodeVersion: string;
  /** The libtensorflow the addon was built against (from the wheel, see scripts/tensorflow/). */
  tensorflowVersion: string;
  intraOpThreads?: number;
  interOpThreads?: number;
}

let loaded: NativeState | undefined;

/** The accelerator native TensorFlow was loaded for in this process, if it was: it cannot change. */
export function loadedNativeAccelerator(): Accelerator | undefined {
  return loaded?.accelerator;
}
let loadFailure: BackendUnavailableError | undefined;

const PACKAGES: Record<Accelerator, string> = {
  cpu: '@tensorflow/tfjs-node',
  gpu: '@tensorflow/tfjs-node-gpu',
};

function threadEnv(name: string, value: number | undefined): number | undefined {
  if (value !== undefined) {
    process.env[name] = String(value);
    return value;
  }
  const fromEnv = Number(process.env[name]);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : undefined;
}

/** Why an import of the native package failed, in words a user can act on. */
function describeLoadError(err: unknown, pkg: string): string {
  const e = err as NodeJS.ErrnoException;
  const msg = String(e?.message ?? err);
  const missing = [
    `Cannot find module '${pkg}'`,
    `Cannot find package '${pkg}'`,
    `${pkg} cannot be resolved`,
  ];
  if (missing.some((m) => msg.includes(m))) return `the package ${pkg} is not installed`;
  if (msg.includes('tfjs_binding.node') || e?.code === 'MODULE_NOT_FOUND') {
    return `${pkg} is installed but its native addon (tfjs_binding.node) was never built`;
  }
  if (msg.includes('libtensorflow'))
    return `${pkg} cannot load the TensorFlow shared library (${msg.split('\n')[0]})`;
  return `${pkg} failed to load (${msg.split('\n')[0]})`;
}

/**
 * Imports tfjs-node (CPU) or tfjs-node-gpu once per process, setting TensorFlow's thread-pool sizes
 * through the environment variables it reads when its eager context is created.
 */
export async function loadNative(
  accelerator: Accelerator,
  intraOpThreads?: number,
  interOpThreads?: number,
): Promise<NativeState> {
  if (loaded) {
    if (loaded.accelerator !== accelerator) {
      throw new BackendOptionError(
        'accelerator',
        `'${loaded.accelerator}' (native TensorFlow is already loaded for it in this process)`,
        accelerator,
      );
    }
    for (const [field, want, have] of [
      ['intraOpThreads', intraOpThreads, loaded.intraOpThreads],
      ['interOpThreads', interOpThreads, loaded.interOpThreads],
    ] as const) {
      if (want !== undefined && want !== have) {
        throw new BackendOptionError(
          field,
          `${have ?? 'the TensorFlow default'} (TensorFlow fixes thread pools when it first loads in a process)`,
          want,
        );
      }
    }
    return loaded;
  }
  if (loadFailure && loadFailure.backend === `tensorflow (${accelerator})`) throw loadFailure;
  const pkg = PACKAGES[accelerator];
  const intra = threadEnv('TF_NUM_INTRAOP_THREADS', intraOpThreads);
  const inter = threadEnv('TF_NUM_INTEROP_THREADS', interOpThreads);
  // oneDNN's start-up banners otherwise go to stderr on every run; an explicit setting wins.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
  let mod: { version?: Record<string, string> };
  try {
    // A variable specifier keeps the package optional for the type checker and the bundler alike.
    const specifier: string = pkg;
    mod = (await import(specifier)) as typeof mod;
  } catch (err) {
    loadFailure = new BackendUnavailableError(
      `tensorflow (${accelerator})`,
      describeLoadError(err, pkg),
      accelerator === 'gpu' ? NATIVE_GPU_INSTALL_COMMAND : NATIVE_INSTALL_COMMAND,
    );
    throw loadFailure;
  }
  if (tf.findBackendFactory('tensorflow') === null) {
    throw new BackendUnavailableError(
      `tensorflow (${accelerator})`,
      `${pkg} loaded but registered its backend with a different copy of @tensorflow/tfjs-core than Kiln's (run \`npm ls @tensorflow/tfjs-core\`: there must be exactly one)`,
      'npm dedupe',
    );
  }
  loaded = {
    accelerator,
    packageName: pkg,
    tfjsNodeVersion: mod.version?.['tfjs-node'] ?? mod.version?.['tfjs-node-gpu'] ?? 'unknown',
    tensorflowVersion: (await nativeBinding())?.TF_Version ?? 'unknown',
    intraOpThreads: intra,
    interOpThreads: inter,
  };
  return loaded;
}

/** The tfjs-node addon behind the active `tensorflow` backend, for version and device queries. */
export async function nativeBinding(): Promise<
  { TF_Version: string; isUsingGpuDevice?: () => boolean } | undefined
> {
  if (tf.findBackendFactory('tensorflow') === null) return undefined;
  await tf.setBackend('tensorflow');
  const backend = tf.findBackend('tensorflow') as unknown as { binding?: { TF_Version: string } } | null;
  return backend?.binding;
}

/** Whether a native package is importable, without throwing. */
export async function nativeAvailable(accelerator: Accelerator): Promise<boolean> {
  try {
    await loadNative(accelerator);
    return true;
  } catch {
    return false;
  }
}

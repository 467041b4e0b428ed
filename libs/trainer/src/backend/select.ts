import { ENV } from '@kiln/spec';
import * as tf from '@tensorflow/tfjs';
import {
  BackendOptionError,
  BackendUnavailableError,
  explainKernelError,
  isBackendName,
  NoGpuBackendError,
} from './errors.js';
import { loadedNativeAccelerator, loadNative, type NativeState, nativeBinding } from './native.js';
import type { Accelerator, BackendInfo, BackendName, SelectBackendOptions } from './types.js';
import { adapterLabel, registerWebgpu } from './webgpu.js';

function checkThreads(field: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new BackendOptionError(field, 'a positive integer', value);
  }
  return value;
}

function checkOptions(opts: SelectBackendOptions) {
  const accelerator = opts.accelerator ?? 'auto';
  if (!['cpu', 'gpu', 'auto'].includes(accelerator)) {
    throw new BackendOptionError('accelerator', "'cpu' | 'gpu' | 'auto'", accelerator);
  }
  const backend = opts.backend ?? 'auto';
  if (backend !== 'auto' && !isBackendName(backend)) {
    throw new BackendOptionError('backend', "'tensorflow' | 'webgpu' | 'cpu' | 'wasm' | 'auto'", backend);
  }
  if (accelerator === 'gpu' && (backend === 'cpu' || backend === 'wasm')) {
    throw new BackendOptionError(
      'backend',
      "'tensorflow', 'webgpu' or 'auto' when accelerator is 'gpu'",
      backend,
    );
  }
  if (accelerator === 'cpu' && backend === 'webgpu') {
    throw new BackendOptionError('accelerator', "'gpu' or 'auto' when backend is 'webgpu'", accelerator);
  }
  return {
    accelerator,
    backend,
    intra: checkThreads('intraOpThreads', opts.intraOpThreads),
    inter: checkThreads('interOpThreads', opts.interOpThreads),
  } as const;
}

async function activate(name: BackendName): Promise<void> {
  if (tf.getBackend() === name) return;
  const ok = await tf.setBackend(name);
  if (!ok) throw new BackendUnavailableError(name, 'tfjs could not initialise it', 'npm install');
  await tf.ready();
}

async function useWasm(intra: number | undefined): Promise<BackendInfo> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    throw new BackendUnavailableError(
      'wasm',
      `@tensorflow/tfjs-backend-wasm failed to load (${(err as Error).message})`,
      'npm install @tensorflow/tfjs-backend-wasm -w @kiln/trainer',
    );
  }
  // The thread count only applies before the backend's first initialisation.
  if (intra !== undefined && tf.findBackend('wasm') === null) wasm.setThreadsCount(intra);
  await activate('wasm');
  return {
    name: 'wasm',
    accelerator: 'cpu',
    device: 'cpu (WebAssembly, XNNPACK)',
    intraOpThreads: wasm.getThreadsCount(),
  };
}

async function useWebgpu(skipWithoutLoader = false): Promise<BackendInfo> {
  const adapter = await registerWebgpu({ skipWithoutLoader });
  await activate('webgpu');
  return { name: 'webgpu', accelerator: 'gpu', device: adapterLabel(adapter) };
}

async function useCpu(): Promise<BackendInfo> {
  await activate('cpu');
  return { name: 'cpu', accelerator: 'cpu', device: 'cpu (pure JavaScript)', intraOpThreads: 1 };
}

async function useTensorflow(accelerator: Accelerator, intra?: number, inter?: number): Promise<BackendInfo> {
  const native: NativeState = await loadNative(accelerator, intra, inter);
  await activate('tensorflow');
  if (accelerator === 'gpu' && (await nativeBinding())?.isUsingGpuDevice?.() === false) {
    throw new BackendUnavailableError(
      'tensorflow (gpu)',
      'tfjs-node-gpu loaded but TensorFlow sees no CUDA device (check nvidia-smi, the CUDA/cuDNN versions the wheel wants, and TF_CPP_MIN_LOG_LEVEL=0 output)',
      'bash scripts/tensorflow/install.sh --gpu (on a CUDA machine)',
    );
  }
  return {
    name: 'tensorflow',
    accelerator,
    device: `${accelerator} (TensorFlow ${native.tensorflowVersion} through ${native.packageName} ${native.tfjsNodeVersion})`,
    intraOpThreads: native.intraOpThreads,
    interOpThreads: native.interOpThreads,
  };
}

/**
 * KILN_FORCE_BACKEND=<name> replaces whatever backend the code asks for: it runs a test suite written
 * against one backend on another (CI runs the Trainer tests on `cpu` and on `tensorflow`).
 */
function withForcedBackend(opts: SelectBackendOptions): SelectBackendOptions {
  const forced = process.env[ENV.forceBackend];
  if (!forced) return opts;
  if (!isBackendName(forced)) {
    throw new BackendOptionError(
      `${ENV.forceBackend} (environment)`,
      "'tensorflow' | 'webgpu' | 'cpu' | 'wasm'",
      forced,
    );
  }
  const accelerator = forced === 'tensorflow' ? opts.accelerator : forced === 'webgpu' ? 'gpu' : 'cpu';
  return { ...opts, backend: forced, accelerator };
}

/**
 * Makes one tfjs backend active for the shared tf instance and says which. The Trainer calls this at
 * the start of fit/validate/test/predict. Asking for a backend that is not usable throws
 * BackendUnavailableError with the fix; `auto` falls through to the next one silently.
 */
export async function selectBackend(opts: SelectBackendOptions = {}): Promise<BackendInfo> {
  const { accelerator, backend, intra, inter } = checkOptions(withForcedBackend(opts));
  if (backend === 'cpu') return useCpu();
  if (backend === 'wasm') return useWasm(intra);
  if (backend === 'webgpu') return useWebgpu();
  if (backend === 'tensorflow') return useTensorflow(accelerator === 'gpu' ? 'gpu' : 'cpu', intra, inter);
  // auto: the fastest usable, GPUs first unless the CPU was asked for: tfjs-node-gpu, then WebGPU.
  // Once native TensorFlow is loaded its device is fixed for the process, so a later `auto` reuses it.
  const loadedFor = loadedNativeAccelerator();
  const unusable: BackendUnavailableError[] = [];
  const attempt = async (use: () => Promise<BackendInfo>): Promise<BackendInfo | undefined> => {
    try {
      return await use();
    } catch (err) {
      if (!(err instanceof BackendUnavailableError)) throw err;
      unusable.push(err);
      return undefined;
    }
  };
  if (accelerator !== 'cpu') {
    const gpu =
      (loadedFor !== 'cpu' ? await attempt(() => useTensorflow('gpu', intra, inter)) : undefined) ??
      // `auto` skips Dawn on machines with no Vulkan loader at all (every CPU machine): nothing to find
      (await attempt(() => useWebgpu(accelerator === 'auto')));
    if (gpu) return gpu;
    if (accelerator === 'gpu') throw new NoGpuBackendError(unusable);
  }
  if (loadedFor !== 'gpu') {
    const native = await attempt(() => useTensorflow('cpu', intra, inter));
    if (native) return native;
  }
  return (await attempt(() => useWasm(intra))) ?? useCpu();
}

/** Runs `fn`, rewriting tfjs's missing-kernel errors into ones that name the fix. */
export async function withKernelHelp<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw explainKernelError(err, tf.getBackend());
  }
}

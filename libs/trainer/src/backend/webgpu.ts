import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendUnavailableError } from './errors.js';

/**
 * WebGPU through Dawn's Node binding (npm `webgpu`, an optional dependency) and tfjs's WebGPU
 * backend: any Vulkan GPU, with no coupling to CUDA or TensorFlow versions.
 */

/** The one command that installs Dawn's binding for this workspace. */
export const WEBGPU_INSTALL_COMMAND = 'npm install --no-audit --no-fund -w @kiln/trainer webgpu@0.6.2';

/** How Kiln asks Dawn for an adapter (tfjs's WebGPU backend asks the same). */
const ADAPTER_REQUEST = { powerPreference: 'high-performance' } as const;

/**
 * What to do when Dawn finds no adapter: Dawn reaches GPUs on Linux through Vulkan, and it does not
 * hand out software Vulkan (lavapipe) as a normal adapter.
 */
export const WEBGPU_ADAPTER_FIX =
  "install the Vulkan loader (Debian/Ubuntu: apt-get install libvulkan1) and the GPU driver's Vulkan ICD (NVIDIA: nvidia_icd.json, e.g. export VK_DRIVER_FILES=/usr/share/vulkan/icd.d/nvidia_icd.json), check with `vulkaninfo --summary`; or choose backend 'tensorflow' | 'wasm' | 'cpu'";

/** The subset of WebGPU's adapter that Kiln reads (Dawn's objects carry the full interface). */
export interface WebgpuAdapter {
  readonly info?: Record<string, unknown>;
  readonly limits: Record<string, number>;
  readonly features: ReadonlySet<string>;
  readonly isFallbackAdapter?: boolean;
  requestDevice(descriptor?: unknown): Promise<unknown>;
}
interface Gpu {
  requestAdapter(options?: unknown): Promise<WebgpuAdapter | null>;
}
interface DawnModule {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}

/** What the Vulkan loader search on this machine saw; it explains an empty adapter list. */
export interface VulkanLoaderReport {
  /** where libvulkan.so.1 was found (ld.so cache or a directory), or undefined */
  loader?: string;
  /** Vulkan driver manifests (ICD JSON files) found, by path */
  drivers: string[];
}

export interface WebgpuAdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  /** Dawn puts the driver (name and version) here on Vulkan */
  description: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
}

export type WebgpuProbe =
  | { ok: true; gpu: Gpu; dawn: DawnModule; adapter: WebgpuAdapter; description: WebgpuAdapterDescription }
  | { ok: false; error: BackendUnavailableError; vulkan: VulkanLoaderReport };

const LIB_DIRS = [
  '/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/lib',
  '/usr/local/lib',
];
const ICD_DIRS = [
  '/etc/vulkan/icd.d',
  '/usr/local/share/vulkan/icd.d',
  '/usr/share/vulkan/icd.d',
  '/usr/local/nvidia/share/vulkan/icd.d',
];

/** Looks for the Vulkan loader and driver manifests the way the dynamic linker and loader do. */
export function findVulkanLoader(env: NodeJS.ProcessEnv = process.env): VulkanLoaderReport {
  if (process.platform !== 'linux') return { loader: `(not checked on ${process.platform})`, drivers: [] };
  const libDirs = [...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LIB_DIRS];
  let loader = libDirs.map((d) => join(d, 'libvulkan.so.1')).find((p) => existsSync(p));
  if (!loader) {
    try {
      // the ld.so cache holds each library's name as a plain string
      if (readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1')) loader = '/etc/ld.so.cache';
    } catch {
      // no cache: the directory search above is all there is
    }
  }
  const explicit = (env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES ?? '').split(':').filter(Boolean);
  const drivers = explicit.length
    ? explicit.filter((p) => existsSync(p))
    : [
        ...(env.XDG_DATA_DIRS ?? '')
          .split(':')
          .filter(Boolean)
          .map((d) => join(d, 'vulkan/icd.d')),
        ...ICD_DIRS,
      ]
        .filter((d) => existsSync(d))
        .flatMap((d) =>
          readdirSync(d)
            .filter((f) => f.endsWith('.json'))
            .map((f) => join(d, f)),
        );
  return { loader, drivers: [...new Set(drivers)] };
}

function describeVulkan(v: VulkanLoaderReport): string {
  const loader = v.loader
    ? `Vulkan loader at ${v.loader}`
    : 'no Vulkan loader (libvulkan.so.1 is in neither LD_LIBRARY_PATH, the system library directories nor the ld.so cache)';
  const drivers = v.drivers.length
    ? `driver manifests: ${v.drivers.join(', ')}`
    : 'no Vulkan driver manifest (ICD JSON) found';
  return `${loader}; ${drivers}`;
}

function describeAdapter(adapter: WebgpuAdapter): WebgpuAdapterDescription {
  const info = adapter.info ?? {};
  const text = (k: string) => (typeof info[k] === 'string' ? (info[k] as string) : '');
  const limits: Record<string, number> = {};
  // WebIDL attributes are enumerable getters on the prototype: for-in sees them, Object.keys does not
  for (const k in adapter.limits) {
    const v = adapter.limits[k];
    if (typeof v === 'number') limits[k] = v;
  }
  return {
    vendor: text('vendor'),
    architecture: text('architecture'),
    device: text('device'),
    description: text('description'),
    isFallbackAdapter: Boolean(adapter.isFallbackAdapter ?? info.isFallbackAdapter),
    features: [...adapter.features].sort(),
    limits,
  };
}

function unavailable(reason: string, vulkan: VulkanLoaderReport, fix = WEBGPU_ADAPTER_FIX): WebgpuProbe {
  return {
    ok: false,
    vulkan,
    error: new BackendUnavailableError('webgpu', `${reason} (${describeVulkan(vulkan)})`, fix),
  };
}

let probed: Promise<WebgpuProbe> | undefined;

/**
 * Loads Dawn and asks it for an adapter, once per process. `skipWithoutLoader` (for `auto`) answers
 * "unavailable" without loading Dawn when there is no Vulkan loader at all, which is what every CPU
 * machine sees; Dawn would only print its own warnings there.
 */
export function probeWebgpu(opts: { skipWithoutLoader?: boolean } = {}): Promise<WebgpuProbe> {
  const vulkan = findVulkanLoader();
  if (!probed && opts.skipWithoutLoader && !vulkan.loader) {
    return Promise.resolve(unavailable("Dawn's adapter search was not tried", vulkan));
  }
  probed ??= (async (): Promise<WebgpuProbe> => {
    let dawn: DawnModule;
    try {
      // a variable specifier keeps the optional package out of the type checker's and bundlers' way
      const specifier: string = 'webgpu';
      dawn = (await import(specifier)) as DawnModule;
    } catch (err) {
      const msg = String((err as Error)?.message ?? err).split('\n')[0] ?? '';
      const missing = /Cannot find (package|module) 'webgpu'/.test(msg);
      return unavailable(
        missing
          ? "the package webgpu (Dawn's Node binding) is not installed"
          : `Dawn's binding failed to load (${msg})`,
        vulkan,
        WEBGPU_INSTALL_COMMAND,
      );
    }
    const gpu = dawn.create([]);
    const adapter = await gpu.requestAdapter(ADAPTER_REQUEST);
    if (!adapter) {
      return unavailable(
        "Dawn's adapter search (navigator.gpu.requestAdapter({ powerPreference: 'high-performance' })) found no WebGPU adapter",
        vulkan,
      );
    }
    return { ok: true, gpu, dawn, adapter, description: describeAdapter(adapter) };
  })();
  return probed;
}

/** Makes WebGPU visible where tfjs's WebGPU backend looks for it: globalThis.navigator.gpu. */
function installGlobals(dawn: DawnModule, gpu: Gpu): void {
  Object.assign(globalThis, dawn.globals);
  const g = globalThis as { navigator?: object };
  if (g.navigator === undefined) g.navigator = { gpu };
  else if (!('gpu' in g.navigator) || (g.navigator as { gpu?: unknown }).gpu !== gpu) {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  }
}

/**
 * Registers tfjs's `webgpu` backend on the adapter Dawn found and returns the adapter's description.
 * Throws BackendUnavailableError (adapter search, Vulkan loader findings, fix) when there is none.
 */
export async function registerWebgpu(
  opts: { skipWithoutLoader?: boolean } = {},
): Promise<WebgpuAdapterDescription> {
  const probe = await probeWebgpu(opts);
  if (!probe.ok) throw probe.error;
  if (tf.findBackendFactory('webgpu') !== null) return probe.description;
  installGlobals(probe.dawn, probe.gpu);
  // the package registers its own factory when navigator.gpu exists at import; if it was imported
  // earlier (before the globals above), Kiln registers the same construction on its own adapter
  const webgpu = await import('@tensorflow/tfjs-backend-webgpu');
  if (tf.findBackendFactory('webgpu') === null) {
    const adapter = probe.adapter;
    tf.registerBackend(
      'webgpu',
      async () => {
        const l = adapter.limits;
        const device = await adapter.requestDevice({
          requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
          requiredLimits: {
            maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
            maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
            maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
            maxBufferSize: l.maxBufferSize,
            maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
            maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
          },
        });
        // biome-ignore lint/suspicious/noExplicitAny: Dawn's GPUDevice is the browser type tfjs expects
        return new webgpu.WebGPUBackend(device as any, adapter.info as any);
      },
      3,
    );
  }
  return probe.description;
}

/** One line naming the adapter, for BackendInfo.device and logs. */
export function adapterLabel(d: WebgpuAdapterDescription): string {
  const name = [d.vendor, d.architecture, d.device].filter(Boolean).join(' ');
  return `gpu (WebGPU through Dawn: ${name || 'unnamed adapter'}${d.description ? `, ${d.description}` : ''})`;
}

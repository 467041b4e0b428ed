/**
 * Which tfjs backend runs the kernels. `tensorflow` is native TensorFlow through tfjs-node(-gpu);
 * `webgpu` is tfjs's WebGPU backend on Dawn (any Vulkan GPU).
 */
export type BackendName = 'tensorflow' | 'webgpu' | 'cpu' | 'wasm';
export type Accelerator = 'cpu' | 'gpu';

export interface SelectBackendOptions {
  /**
   * `auto` (default) takes a GPU when there is one (tfjs-node-gpu when installed, else WebGPU when Dawn
   * finds an adapter), else the CPU. `gpu` fails with the reasons when neither is usable.
   */
  accelerator?: Accelerator | 'auto';
  /** `auto` (default) takes the fastest usable: tensorflow (gpu), webgpu, tensorflow (cpu), wasm, cpu. */
  backend?: BackendName | 'auto';
  /** Threads inside one op (TensorFlow intra-op pool; wasm thread count). */
  intraOpThreads?: number;
  /** Ops run concurrently (TensorFlow inter-op pool). */
  interOpThreads?: number;
}

export interface BackendInfo {
  /** The tfjs backend name now active (`tf.getBackend()`). */
  name: BackendName;
  accelerator: Accelerator;
  /** Human-readable device, e.g. `cpu (native TensorFlow 2.x)` or `/device:GPU:0`. */
  device: string;
  intraOpThreads?: number;
  interOpThreads?: number;
}

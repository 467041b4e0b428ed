/** Which tfjs backend runs the kernels. `tensorflow` is native TensorFlow through tfjs-node(-gpu). */
export type BackendName = 'tensorflow' | 'cpu' | 'wasm';
export type Accelerator = 'cpu' | 'gpu';

export interface SelectBackendOptions {
  /** `auto` (default) takes a GPU when tfjs-node-gpu is installed, else the CPU. */
  accelerator?: Accelerator | 'auto';
  /** `auto` (default) takes the fastest installed: tensorflow, then wasm, then cpu. */
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

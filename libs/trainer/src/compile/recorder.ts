import type { OpAttr } from './graph-def.js';

/** What tfjs-node's addon returns for each output of `executeOp`. */
export interface TensorInfo {
  id: number;
  shape: number[];
  dtype: number;
}

/** The part of tfjs-node's addon (`backend.binding`) the compiled step uses. */
export interface StepBinding {
  TF_FLOAT: number;
  TF_ATTR_BOOL: number;
  executeOp(name: string, attrs: OpAttr[], inputs: number[], numOutputs: number): TensorInfo[];
  createTensor(shape: number[], dtype: number, values: unknown): number;
  tensorDataSync(id: number): unknown;
  isUsingGpuDevice?(): boolean;
  registerFunction?(
    name: string,
    graphDef: Uint8Array,
    inputs: string[],
    outputs: string[],
    controlOutputs: string[],
  ): void;
  removeFunction?(name: string): void;
}

/** tfjs-node's NodeJSKernelBackend, the members the compiled step reads. */
export interface StepBackend {
  binding: StepBinding;
  getInputTensorIds(tensors: unknown[]): number[];
  createOutputTensor(info: TensorInfo): import('@tensorflow/tfjs').Tensor;
}

export interface RecordedOp {
  name: string;
  attrs: OpAttr[];
  inputs: number[];
  outputs: TensorInfo[];
}

/** A tensor made from JavaScript values during the step. */
export interface CreatedTensor {
  shape: number[];
  dtype: number;
  values: unknown;
  /** the Math.random() value drawn just before it was made (tfjs's unseeded random ops seed with one) */
  seed?: number;
  /** set once checked: a tfjs random op seeded with `seed` makes it again (the `draw`-th draw of the
   * step, random-draws.ts): an input of the compiled step, drawn again before each call, not a constant */
  draw?: number;
}

export interface Recording {
  ops: RecordedOp[];
  /** tensors made from JavaScript values during the step (createTensor), by id */
  created: Map<number, CreatedTensor>;
  /** Math.random() draws during the step that seeded no tensor made right after (not replayable) */
  strayDraws: number;
  /** ids read back to JavaScript during the step (dataSync and friends) */
  reads: number[];
  /** the step ran on TensorFlow's CPU device (no GPU) */
  onCpu: boolean;
}

/**
 * Reads inside tfjs-node kernels that only validate their inputs and change nothing the kernel runs:
 * GatherV2 checks every index against the axis (TensorFlow's CPU kernel checks the same and fails
 * the call, so a compiled step still rejects an out-of-range index).
 */
const VALIDATION_READS = [/[/\\]tfjs-node(-gpu)?[/\\]dist[/\\]kernels[/\\]GatherV2\.js:/];

let depth = 0;
let onCpu = true;
/**
 * Whether a training step is being recorded for compilation on CPU, where TensorFlow's kernels check
 * indices themselves: checks that read a tensor back only to validate it skip themselves then. (On a
 * GPU TensorFlow's gather and cross-entropy kernels do not check, so the reads stay and the step
 * runs eagerly.)
 */
export function recordingStep(): boolean {
  return depth > 0 && onCpu;
}

/**
 * Runs `fn` with tfjs-node's addon wrapped so that every kernel it executes, every tensor it makes
 * from JavaScript values and every read-back is recorded; the kernels still run (the step's results
 * are real). The addon's own methods are read-only, so the backend gets a wrapper object for the
 * duration and its own binding back afterwards, also when `fn` throws.
 */
export function record<T>(backend: StepBackend, fn: () => T): { result: T; recording: Recording } {
  const orig = backend.binding;
  const recording: Recording = {
    ops: [],
    created: new Map(),
    reads: [],
    strayDraws: 0,
    onCpu: orig.isUsingGpuDevice?.() !== true,
  };
  // Math.random() as tfjs's unseeded random ops call it (UniformRandom): one draw, then the tensor
  let seed: number | undefined;
  const random = Math.random;
  Math.random = () => {
    if (seed !== undefined) recording.strayDraws++;
    seed = random();
    return seed;
  };
  const wrapper = Object.create(orig) as StepBinding;
  Object.defineProperties(wrapper, {
    executeOp: {
      value: (name: string, attrs: OpAttr[], inputs: number[], n: number) => {
        const out = orig.executeOp(name, attrs, inputs, n);
        recording.ops.push({
          name,
          attrs: attrs.map((a) => ({ ...a, value: Array.isArray(a.value) ? [...a.value] : a.value })),
          inputs: [...inputs],
          outputs: out.map((o) => ({ id: o.id, shape: [...o.shape], dtype: o.dtype })),
        });
        return out;
      },
    },
    createTensor: {
      value: (shape: number[], dtype: number, values: unknown) => {
        const id = orig.createTensor(shape, dtype, values);
        const copy = ArrayBuffer.isView(values) ? (values as Uint8Array).slice() : values;
        recording.created.set(id, {
          shape: [...shape],
          dtype,
          values: copy,
          ...(seed === undefined ? {} : { seed }),
        });
        seed = undefined;
        return id;
      },
    },
    tensorDataSync: {
      value: (id: number) => {
        // only while tracing (a few steps): where the read comes from decides whether it matters
        const site = new Error().stack ?? '';
        if (!onCpu || !VALIDATION_READS.some((r) => r.test(site))) recording.reads.push(id);
        return orig.tensorDataSync(id);
      },
    },
  });
  backend.binding = wrapper;
  onCpu = recording.onCpu;
  depth++;
  try {
    return { result: fn(), recording };
  } finally {
    depth--;
    backend.binding = orig;
    Math.random = random;
    if (seed !== undefined) recording.strayDraws++;
  }
}

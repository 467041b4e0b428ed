import { cpuEquivalent } from './cpu-equivalents.js';
import { constantContent, DT, encodeGraphDef, GraphDefError, type GraphNode } from './graph-def.js';
import type { Recording, TensorInfo } from './recorder.js';

/** Where a compiled step's argument comes from on each call. */
export type InputRole =
  | { kind: 'variable'; name: string }
  | { kind: 'batch'; index: number }
  /** a scalar of a Kiln optimizer, recomputed (lr, bias corrections) before every call */
  | { kind: 'scalar'; key: string }
  /** a tensor that lived before the step and is neither of the above (resource handles, constants) */
  | { kind: 'stable'; id: number }
  /** the step's `index`-th uniform random draw in [0, 1) (tf.dropout's mask), drawn again per call */
  | { kind: 'random'; index: number };

/**
 * What a compiled step's result is: the loss, a variable's gradient (a forward + backward step), a
 * variable's new value, or a value the step logged.
 */
export type OutputRole =
  | { kind: 'loss' }
  | { kind: 'grad'; name: string }
  | { kind: 'variable'; name: string }
  | { kind: 'log'; index: number };

export interface StepGraph {
  graphDef: Uint8Array;
  inputs: InputRole[];
  inputNames: string[];
  outputs: OutputRole[];
  outputRefs: string[];
  controlOutputs: string[];
  /** equal for two traces exactly when they would compile to the same function */
  signature: string;
  ops: number;
}

/** What the trace needs to know besides the recording: who the step's tensors are. */
export interface StepContext {
  /** ids of variables and batch tensors at the start of the step, with their dtype and shape */
  before: Map<number, { role: InputRole; info: TensorInfo }>;
  /** ids of the optimizers' cached scalars after the step, by cache key */
  scalars: Map<number, string>;
  /** the step's results, by id after the step */
  results: { role: OutputRole; id: number }[];
  /** dtype and shape of a tensor that existed before the step */
  info(id: number): TensorInfo;
}

/** Turns one recorded step into a function body, or says why it cannot. */
export function buildStepGraph(rec: Recording, ctx: StepContext): StepGraph | { reason: string } {
  if (rec.reads.length > 0)
    return { reason: `the step reads ${rec.reads.length} tensor(s) back to JavaScript (dataSync/arraySync)` };
  if (rec.ops.length === 0) return { reason: 'the step ran no TensorFlow kernels' };
  const stray =
    rec.strayDraws +
    [...rec.created.values()].filter((c) => c.seed !== undefined && c.draw === undefined).length;
  if (stray > 0)
    return {
      reason: `unsupported: the step draws ${stray} random number(s) in JavaScript (Math.random) that no tfjs random op made`,
    };
  const nodes: GraphNode[] = [];
  const refs = new Map<number, string>(); // tensor id -> "node:index"
  const dtypes = new Map<number, number>();
  const inputs: InputRole[] = [];
  const inputNames: string[] = [];
  try {
    const ref = (id: number): string => {
      const known = refs.get(id);
      if (known) return known;
      const made = rec.created.get(id);
      const scalarKey = ctx.scalars.get(id);
      const before = ctx.before.get(id);
      const role: InputRole | null =
        before?.role ??
        (scalarKey !== undefined
          ? { kind: 'scalar', key: scalarKey }
          : made?.draw !== undefined
            ? { kind: 'random', index: made.draw }
            : null);
      if (role === null && made) {
        const name = `c${nodes.length}`;
        nodes.push({
          kind: 'const',
          name,
          dtype: made.dtype,
          shape: made.shape,
          content: constantContent(made.dtype, made.shape, made.values),
        });
        dtypes.set(id, made.dtype);
        refs.set(id, `${name}:0`);
        return `${name}:0`;
      }
      let info: TensorInfo;
      try {
        info = made ? { id, shape: made.shape, dtype: made.dtype } : (before?.info ?? ctx.info(id));
      } catch {
        // a tensor that lived before the step and was freed by it (one-off set-up work)
        throw new GraphDefError(`input tensor ${id} was freed during the step`);
      }
      const name = `in${inputs.length}`;
      inputs.push(role ?? { kind: 'stable', id });
      inputNames.push(name);
      nodes.push({ kind: 'placeholder', name, dtype: info.dtype, shape: info.shape });
      dtypes.set(id, info.dtype);
      refs.set(id, `${name}:0`);
      return `${name}:0`;
    };
    // stateful ops on one resource run in the order they were recorded (a GraphDef has no program order)
    const lastUse = new Map<string, string>();
    const controlOutputs: string[] = [];
    rec.ops.forEach((op, k) => {
      const name = `op${k}`;
      const ins = op.inputs.map(ref);
      const control: string[] = [];
      op.inputs.forEach((id, j) => {
        if (dtypes.get(id) !== DT.RESOURCE) return;
        const r = ins[j] as string;
        const prev = lastUse.get(r);
        if (prev && !control.includes(`^${prev}`)) control.push(`^${prev}`);
        lastUse.set(r, name);
      });
      const equivalent =
        rec.onCpu && control.length === 0 ? cpuEquivalent(name, op.name, ins, op.attrs) : null;
      if (equivalent) nodes.push(...equivalent);
      else nodes.push({ kind: 'op', name, op: op.name, inputs: [...ins, ...control], attrs: op.attrs });
      op.outputs.forEach((o, j) => {
        refs.set(o.id, `${name}:${j}`);
        dtypes.set(o.id, o.dtype);
      });
      if (op.outputs.length === 0) controlOutputs.push(name);
    });
    const outputs: OutputRole[] = [];
    const outputRefs: string[] = [];
    for (const { role, id } of ctx.results) {
      const r = refs.get(id);
      if (!r?.startsWith('op')) {
        const what =
          role.kind === 'variable'
            ? `variable "${role.name}"`
            : role.kind === 'grad'
              ? `gradient of "${role.name}"`
              : role.kind;
        return { reason: `the step's ${what} is not computed by TensorFlow kernels inside the step` };
      }
      outputs.push(role);
      outputRefs.push(r);
    }
    const graphDef = encodeGraphDef(nodes);
    const signature = JSON.stringify([inputs, outputs, outputRefs, Buffer.from(graphDef).toString('base64')]);
    return {
      graphDef,
      inputs,
      inputNames,
      outputs,
      outputRefs,
      controlOutputs,
      signature,
      ops: rec.ops.length,
    };
  } catch (err) {
    if (err instanceof GraphDefError)
      return { reason: `${/freed/.test(err.message) ? '' : 'unsupported: '}${err.message}` };
    throw err;
  }
}

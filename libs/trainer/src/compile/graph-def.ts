import { ProtoWriter } from '../loggers/tensorboard/protobuf.js';

/**
 * A recorded training step as a TensorFlow GraphDef (tensorflow/core/framework/graph.proto), the
 * few fields a function body needs: placeholders for the step's inputs, constants for the values
 * made in JavaScript, and the kernels tfjs-node ran, with their attributes as tfjs-node set them.
 * Inputs in a GraphDef are flat `node:index` references, so no op's argument layout is needed here;
 * TensorFlow's importer checks every node against its OpDef.
 */

/** tfjs-node's attribute form (`{ name, type: TF_ATTR_*, value }`), as passed to `executeOp`. */
export interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

/** TF_AttrType values (tensorflow/c/c_api.h). */
export const ATTR = { STRING: 0, INT: 1, FLOAT: 2, BOOL: 3, TYPE: 4, SHAPE: 5 } as const;
/** TF_DataType values the step can carry. */
export const DT = { FLOAT: 1, INT32: 3, UINT8: 4, STRING: 7, INT64: 9, BOOL: 10, RESOURCE: 20 } as const;
const BYTES: Record<number, number> = {
  [DT.FLOAT]: 4,
  [DT.INT32]: 4,
  [DT.UINT8]: 1,
  [DT.INT64]: 8,
  [DT.BOOL]: 1,
};

export type GraphNode =
  | { kind: 'placeholder'; name: string; dtype: number; shape: number[] }
  | { kind: 'const'; name: string; dtype: number; shape: number[]; content: Uint8Array }
  | { kind: 'op'; name: string; op: string; inputs: string[]; attrs: OpAttr[] };

/** Why a node cannot be written; the trace turns it into the fallback warning. */
export class GraphDefError extends Error {}

/** TF_GRAPH_DEF_VERSION of TensorFlow 2.18 (tensorflow/core/public/version.h). */
const PRODUCER = 1994;

export function encodeGraphDef(nodes: GraphNode[]): Uint8Array {
  const g = new ProtoWriter();
  for (const n of nodes) g.message(1, (w) => writeNode(w, n));
  g.message(4, (v) => v.uint(1, PRODUCER));
  return g.finish();
}

/** Raw little-endian bytes of a constant made by createTensor, checked against dtype and shape. */
export function constantContent(dtype: number, shape: number[], values: unknown): Uint8Array {
  const per = BYTES[dtype];
  if (per === undefined)
    throw new GraphDefError(`a constant of TensorFlow dtype ${dtype} (strings are not compiled)`);
  if (!ArrayBuffer.isView(values)) throw new GraphDefError('a constant given as a plain array');
  const size = shape.reduce((a, b) => a * b, 1);
  if (values.byteLength !== size * per)
    throw new GraphDefError(
      `a constant of ${values.byteLength} bytes for shape [${shape}] and dtype ${dtype}`,
    );
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

function writeNode(w: ProtoWriter, n: GraphNode): void {
  w.string(1, n.name);
  if (n.kind === 'placeholder') {
    w.string(2, 'Placeholder');
    attr(w, 'dtype', (a) => a.uint(6, n.dtype));
    attr(w, 'shape', (a) => a.message(7, (s) => shape(s, n.shape)));
    return;
  }
  if (n.kind === 'const') {
    w.string(2, 'Const');
    attr(w, 'dtype', (a) => a.uint(6, n.dtype));
    attr(w, 'value', (a) =>
      a.message(8, (t) => {
        t.uint(1, n.dtype);
        t.message(2, (s) => shape(s, n.shape));
        t.bytes(4, n.content);
      }),
    );
    return;
  }
  w.string(2, n.op);
  for (const i of n.inputs) w.string(3, i);
  for (const a of n.attrs) attr(w, a.name, (v) => attrValue(v, a));
}

function attr(w: ProtoWriter, name: string, value: (v: ProtoWriter) => void): void {
  w.message(5, (e) => {
    e.string(1, name);
    e.message(2, value);
  });
}

function shape(s: ProtoWriter, dims: number[]): void {
  for (const d of dims) s.message(2, (dim) => dim.uint(1, d));
}

/** AttrValue: s=2, i=3, f=4, b=5, type=6, shape=7; lists under list=1 with the same numbers. */
function attrValue(v: ProtoWriter, a: OpAttr): void {
  const list = Array.isArray(a.value);
  const values = (list ? a.value : [a.value]) as unknown[];
  const put = (w: ProtoWriter) => {
    for (const x of values) {
      switch (a.type) {
        case ATTR.STRING:
          w.string(2, String(x));
          break;
        case ATTR.INT:
          w.uint(3, BigInt(Math.trunc(Number(x))));
          break;
        case ATTR.FLOAT:
          w.float(4, Number(x));
          break;
        case ATTR.BOOL:
          w.bool(5, Boolean(x));
          break;
        case ATTR.TYPE:
          w.uint(6, Number(x));
          break;
        case ATTR.SHAPE:
          w.message(7, (s) => shape(s, x as number[]));
          break;
        default:
          throw new GraphDefError(`attribute "${a.name}" of type ${a.type}`);
      }
    }
  };
  // a shape is itself an array: only an array of arrays is a list of shapes
  if (list && !(a.type === ATTR.SHAPE && !Array.isArray(values[0]))) v.message(1, put);
  else if (a.type === ATTR.SHAPE) v.message(7, (s) => shape(s, a.value as number[]));
  else put(v);
}

import { ATTR, constantContent, DT, type GraphNode, type OpAttr } from './graph-def.js';

/**
 * Kernels that TensorFlow runs differently inside a function than eagerly on a CPU, written as the
 * eager kernel's own math so a compiled step equals the eager one bit for bit.
 *
 * Softmax: the oneDNN graph pass (on by default on x86) rewrites every Softmax node of a function to
 * `_MklSoftmax`, whose result differs from the Eigen kernel eager runs in the last bit; Adam turns
 * that into 1e-4 weight differences within 100 steps. Eigen computes `exp(x - max(x))` times the
 * inverse of its sum along the last axis; the same six ops here, none of which the pass rewrites,
 * give the same floats (test/compile-equivalents.test.ts) for rows of up to 27 elements or a multiple
 * of 8. Other row lengths over many rows differ from the fused kernel in a few elements by one unit
 * in the last place (measured: at most 8 of 256 × 28…80), far fewer than `_MklSoftmax` does.
 * Measured no slower than `_MklSoftmax` in the compiled transformer of bench/vs-pytorch.
 */
export function cpuEquivalent(
  name: string,
  op: string,
  inputs: string[],
  attrs: OpAttr[],
): GraphNode[] | null {
  if (op !== 'Softmax' || inputs.length !== 1) return null;
  const t = attrs.find((a) => a.name === 'T');
  if (!t) return null;
  const x = inputs[0] as string;
  const T = [t];
  const reduce = [
    ...T,
    { name: 'Tidx', type: ATTR.TYPE, value: DT.INT32 },
    { name: 'keep_dims', type: ATTR.BOOL, value: true },
  ];
  const axis = `${name}/axis`;
  return [
    {
      kind: 'const',
      name: axis,
      dtype: DT.INT32,
      shape: [],
      content: constantContent(DT.INT32, [], Int32Array.of(-1)),
    },
    { kind: 'op', name: `${name}/max`, op: 'Max', inputs: [x, `${axis}:0`], attrs: reduce },
    { kind: 'op', name: `${name}/shifted`, op: 'Sub', inputs: [x, `${name}/max:0`], attrs: T },
    { kind: 'op', name: `${name}/exp`, op: 'Exp', inputs: [`${name}/shifted:0`], attrs: T },
    { kind: 'op', name: `${name}/sum`, op: 'Sum', inputs: [`${name}/exp:0`, `${axis}:0`], attrs: reduce },
    { kind: 'op', name: `${name}/inverse`, op: 'Reciprocal', inputs: [`${name}/sum:0`], attrs: T },
    { kind: 'op', name, op: 'Mul', inputs: [`${name}/exp:0`, `${name}/inverse:0`], attrs: T },
  ];
}

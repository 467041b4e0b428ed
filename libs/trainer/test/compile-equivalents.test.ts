// The graph forms src/compile/cpu-equivalents.ts writes for kernels that TensorFlow would run
// differently inside a function than eagerly on a CPU: each gives the eager kernel's floats.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectBackend, tf } from '../src/index.js';

delete process.env.KILN_FORCE_BACKEND;
const skipNative = process.env.KILN_SKIP_NATIVE === '1' ? 'KILN_SKIP_NATIVE=1' : false;

describe('CPU equivalents of function kernels (tensorflow backend)', { skip: skipNative }, () => {
  it('Softmax as exp(x - max) times the inverse of its sum equals the Softmax kernel', async () => {
    await selectBackend({ backend: 'tensorflow' });
    // attention scores ([batch, heads, queries, keys]), class logits, short and long rows; rows whose
    // length is no multiple of 8 past 27 can differ from Eigen's fused kernel in rare elements by one
    // unit in the last place (the note in cpu-equivalents.ts), so they are not among these
    const shapes = [
      [4, 7],
      [3, 32, 32],
      [128, 10],
      [32, 4, 32, 32],
      [256, 64],
      [7, 1],
      [2, 1000],
      [16, 24],
    ];
    for (const shape of shapes) {
      for (const scale of [1, 30]) {
        tf.tidy(() => {
          const x = tf.mul(tf.randomNormal(shape, 0, 1, 'float32', shape.length * 31 + scale), scale);
          const want = tf.softmax(x).dataSync();
          const e = tf.exp(tf.sub(x, tf.max(x, -1, true)));
          const got = tf.mul(e, tf.reciprocal(tf.sum(e, -1, true))).dataSync();
          let differ = 0;
          for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) differ++;
          assert.equal(differ, 0, `shape [${shape}], scale ${scale}: ${differ} of ${want.length} differ`);
          // a plain division instead of the inverse's product is not the same (the check can fail)
          const divided = tf.div(e, tf.sum(e, -1, true)).dataSync();
          if ((shape[shape.length - 1] as number) >= 8) assert.ok(divided.some((v, i) => v !== want[i]));
        });
      }
    }
  });
});

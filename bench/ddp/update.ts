// The update after DDP's all-reduce, eager (Kiln's fused update kernels, one call per variable and its
// scalars) against one compiled function of the averaged gradients (CompiledStep, as the Trainer runs
// it with compile: true under DDP): same model, Kiln Adam, gradients made from JavaScript arrays as the
// all-reduce makes them; blocks of STEPS updates alternated REPEATS times in one process, one intra-op
// thread. Prints the median µs per update of each. Asserts nothing.
//   node --conditions=kiln-src --import @swc-node/register/esm-register bench/ddp/update.ts
import { loadavg } from 'node:os';
import { CompiledStep } from '../../libs/trainer/src/compile/compiled-step.js';
import { Adam, type Batch, Module, selectBackend, tf } from '../../libs/trainer/src/index.js';
import { median } from '../support/stats.js';
import { makeNet } from './models.js';

const steps = Number(process.env.STEPS ?? 300);
const repeats = Number(process.env.REPEATS ?? 7);
await selectBackend({ backend: 'tensorflow', intraOpThreads: 1, interOpThreads: 1 });

console.log(
  `load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
for (const name of ['mlp', 'cnn'] as const) {
  class Net extends Module {
    net = makeNet(name);
    trainingStep(_b: Batch): tf.Scalar {
      throw new Error('unused');
    }
    configureOptimizers() {
      return new Adam({ lr: 1e-3 });
    }
  }
  const module = new Net();
  const vars = module.parameters();
  const sizes = vars.map((v) => v.size);
  const values = sizes.map((n) => new Float32Array(n).fill(1e-3));
  // as the all-reduce makes them: a slice of its bucket per gradient
  const grads = (): tf.NamedTensorMap =>
    Object.fromEntries(
      vars.map((v, i) => [v.name, tf.tensor((values[i] as Float32Array).slice(), v.shape, 'float32')]),
    );
  const block = (compiled: CompiledStep | null, opt: tf.Optimizer): number => {
    const c0 = process.cpuUsage();
    for (let s = 0; s < steps; s++) {
      tf.tidy(() => {
        const g = grads();
        const update = (): undefined => {
          opt.applyGradients(g);
          return undefined;
        };
        if (compiled) compiled.run(module, g, opt, update, 'update');
        else update();
      });
    }
    const c = process.cpuUsage(c0);
    return ((c.user + c.system) / steps) as number;
  };
  const eagerOpt = new Adam({ lr: 1e-3 });
  const compiledOpt = new Adam({ lr: 1e-3 });
  const compiled = new CompiledStep({ xla: false }, (m) => console.error(m));
  // the gradients alone (made from JavaScript arrays), to subtract
  const makeOnly = (): number => {
    const c0 = process.cpuUsage();
    for (let s = 0; s < steps; s++) tf.tidy(() => void grads());
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / steps;
  };
  block(null, eagerOpt);
  block(compiled, compiledOpt);
  if (compiled.compiledCalls === 0) throw new Error(`not compiled: ${compiled.fallbackReason}`);
  const eager: number[] = [];
  const comp: number[] = [];
  const made: number[] = [];
  for (let r = 0; r < repeats; r++) {
    if (r % 2) {
      comp.push(block(compiled, compiledOpt));
      eager.push(block(null, eagerOpt));
    } else {
      eager.push(block(null, eagerOpt));
      comp.push(block(compiled, compiledOpt));
    }
    made.push(makeOnly());
  }
  const m = median(made);
  console.log(
    `${name} (${vars.length} variables, ${sizes.reduce((a, b) => a + b, 0)} parameters): update eager ${(median(eager) - m).toFixed(0)} µs, compiled ${(median(comp) - m).toFixed(0)} µs (CPU per update, gradients' making (${m.toFixed(0)} µs) subtracted; paired ratio compiled/eager ${median(comp.map((c, i) => (c - m) / ((eager[i] as number) - m))).toFixed(2)})`,
  );
  compiled.dispose();
}
console.log(
  `load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);

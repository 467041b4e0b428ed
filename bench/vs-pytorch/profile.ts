// Where a training step's time goes on the `tensorflow` backend, in process CPU time (steady when other
// work shares the cores): kernels per step (tf.profile), the fixed CPU cost of one kernel call through
// tfjs-node (a tiny op in a loop), a whole step, and forward+backward alone (the rest is the optimizer),
// the three measured alternately, median of 5.
// Same models as run.ts, each with Kiln's Adam (fused TensorFlow ops, counted as raw ops: tf.profile
// does not see them) and with tfjs's tf.train.adam, in the same process.
//   node --conditions=kiln-src --import @swc-node/register/esm-register bench/vs-pytorch/profile.ts \
//     [--backend tensorflow] [--threads 2]
import { parseArgs } from 'node:util';
import { type Module, nativeOpCount, selectBackend, tf } from '@kiln/trainer';
import { MODELS, makeLoader, makeModule, makeOptimizer, OPTIMIZERS } from './models.js';

const { values: a } = parseArgs({
  options: { backend: { type: 'string', default: 'tensorflow' }, threads: { type: 'string', default: '2' } },
});
const info = await selectBackend({
  backend: a.backend as 'tensorflow',
  accelerator: 'cpu',
  intraOpThreads: Number(a.threads),
  interOpThreads: 1,
});
console.log(`# ${info.device}, intra-op threads ${info.intraOpThreads ?? 'default'}`);

// Fixed cost per kernel: an add of two 1-element tensors does no arithmetic worth measuring.
const one = tf.scalar(1);
for (let i = 0; i < 2000; i++) tf.add(one, one).dispose();
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const nTiny = 20000;
let c0 = cpuMs();
for (let i = 0; i < nTiny; i++) tf.add(one, one).dispose();
const usPerOp = ((cpuMs() - c0) * 1000) / nTiny;
console.log(`fixed CPU cost of one kernel call: ${usPerOp.toFixed(1)} µs`);

console.log(
  '\nmodel        optimizer  kernels/step (tfjs + TF raw)  CPU ms/step  fwd+bwd  step-fwd+bwd  optimizer alone  fixed per-kernel cost   top tfjs kernels by count',
);
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1] as number;
const REPS = 5;
for (const name of MODELS) {
  const module = makeModule(name) as Module & { trainingStep(b: tf.Tensor[]): tf.Scalar };
  module.log = () => {};
  const loader = makeLoader(name);
  const vars = module.parameters();
  const batches = [...loader].slice(0, 16) as tf.Tensor[][];
  const timed = batches.slice(6);
  const opts = Object.fromEntries(OPTIMIZERS.map((o) => [o, makeOptimizer(o)]));
  const step = (o: string, b: tf.Tensor[]) =>
    opts[o]?.minimize(() => module.trainingStep(b), true, vars) as tf.Scalar;
  // CPU ms per step of each variant; variants alternate within each repeat so drift hits all alike
  const runs: Record<string, () => Promise<void>> = {
    fwdBwd: async () => {
      for (const b of timed) {
        const { value, grads } = tf.variableGrads(() => module.trainingStep(b), vars);
        await value.data();
        tf.dispose([value, ...Object.values(grads)]);
      }
    },
  };
  for (const o of OPTIMIZERS) {
    runs[o] = async () => {
      for (const b of timed) {
        const l = step(o, b);
        await l.data();
        l.dispose();
      }
    };
  }
  const times: Record<string, number[]> = {};
  for (const o of OPTIMIZERS) for (const b of batches.slice(0, 5)) step(o, b).dispose();
  for (let r = 0; r < REPS; r++) {
    for (const [k, run] of Object.entries(runs)) {
      c0 = cpuMs();
      await run();
      times[k] ??= [];
      times[k].push((cpuMs() - c0) / timed.length);
    }
  }
  const fwdBwd = median(times.fwdBwd as number[]);
  for (const optName of OPTIMIZERS) {
    // one step first so this optimizer wrote the weights last (the other one's writes cost Kiln a re-sync)
    step(optName, batches[4] as tf.Tensor[]).dispose();
    const raw0 = nativeOpCount();
    const prof = await tf.profile(() => step(optName, batches[5] as tf.Tensor[]).dispose());
    const raw = nativeOpCount() - raw0;
    const counts = new Map<string, number>();
    for (const k of prof.kernels) counts.set(k.name, (counts.get(k.name) ?? 0) + 1);
    const top = [...counts.entries()].sort((x, y) => y[1] - x[1]).slice(0, 6);
    const msPerStep = median(times[optName] as number[]);
    // the optimizer alone: applyGradients on one batch's gradients, repeated
    const alone = makeOptimizer(optName);
    const { value, grads } = tf.variableGrads(() => module.trainingStep(batches[0] as tf.Tensor[]), vars);
    for (let i = 0; i < 3; i++) alone.applyGradients(grads);
    await vars[0]?.data();
    c0 = cpuMs();
    for (let i = 0; i < 30; i++) alone.applyGradients(grads);
    await vars[0]?.data();
    const optMs = (cpuMs() - c0) / 30;
    alone.dispose();
    tf.dispose([value, ...Object.values(grads)]);
    const kernels = prof.kernels.length + raw;
    const fixedMs = (kernels * usPerOp) / 1000;
    console.log(
      `${name.padEnd(12)} ${optName.padEnd(9)} ${`${kernels} (${prof.kernels.length} + ${raw})`.padStart(28)} ${msPerStep.toFixed(2).padStart(12)} ${fwdBwd.toFixed(2).padStart(8)} ${(msPerStep - fwdBwd).toFixed(2).padStart(13)} ${optMs.toFixed(2).padStart(16)}  ${fixedMs.toFixed(2).padStart(6)} ms (${((100 * fixedMs) / msPerStep).toFixed(0)}%)       ${top.map(([k, c]) => `${k}×${c}`).join(' ')}`,
    );
  }
  for (const o of Object.values(opts)) o.dispose();
  tf.dispose(batches.flat());
}

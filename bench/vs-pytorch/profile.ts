// Where a training step's time goes on the `tensorflow` backend, in process CPU time (steady when other
// work shares the cores): kernels per step (tf.profile), the fixed CPU cost of one kernel call through
// tfjs-node (a tiny op in a loop), a whole step, and forward+backward alone (the rest is the optimizer).
// Same models as run.ts.
//   node --conditions=kiln-src --import @swc-node/register/esm-register bench/vs-pytorch/profile.ts \
//     [--backend tensorflow] [--threads 2]
import { parseArgs } from 'node:util';
import { type Module, selectBackend, tf } from '@kiln/trainer';
import { MODELS, makeLoader, makeModule } from './models.js';

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
  '\nmodel        kernels/step  CPU ms/step  fwd+bwd  optimizer  fixed per-kernel cost   top kernels by count',
);
for (const name of MODELS) {
  const module = makeModule(name) as Module & { trainingStep(b: tf.Tensor[]): tf.Scalar };
  module.log = () => {};
  const loader = makeLoader(name);
  const opt = tf.train.adam(1e-3);
  const vars = module.parameters();
  const batches = [...loader].slice(0, 30) as tf.Tensor[][];
  const step = (b: tf.Tensor[]) => opt.minimize(() => module.trainingStep(b), true, vars) as tf.Scalar;
  for (const b of batches.slice(0, 5)) step(b).dispose();
  const prof = await tf.profile(() => step(batches[5] as tf.Tensor[]).dispose());
  const counts = new Map<string, number>();
  for (const k of prof.kernels) counts.set(k.name, (counts.get(k.name) ?? 0) + 1);
  const top = [...counts.entries()].sort((x, y) => y[1] - x[1]).slice(0, 6);
  c0 = cpuMs();
  for (const b of batches.slice(6)) {
    const l = step(b);
    await l.data();
    l.dispose();
  }
  const msPerStep = (cpuMs() - c0) / (batches.length - 6);
  c0 = cpuMs();
  for (const b of batches.slice(6)) {
    const { value, grads } = tf.variableGrads(() => module.trainingStep(b), vars);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  }
  const fwdBwd = (cpuMs() - c0) / (batches.length - 6);
  const fixedMs = (prof.kernels.length * usPerOp) / 1000;
  console.log(
    `${name.padEnd(12)} ${String(prof.kernels.length).padStart(12)} ${msPerStep.toFixed(2).padStart(12)} ${fwdBwd.toFixed(2).padStart(8)} ${(msPerStep - fwdBwd).toFixed(2).padStart(10)}  ${fixedMs.toFixed(2).padStart(6)} ms (${((100 * fixedMs) / msPerStep).toFixed(0)}%)       ${top.map(([k, c]) => `${k}×${c}`).join(' ')}`,
  );
  tf.dispose(batches.flat());
}

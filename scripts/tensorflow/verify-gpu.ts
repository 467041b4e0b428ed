// Checks that Kiln's `tensorflow` backend really runs on a GPU (run inside trainer-gpu image on a GPU node):
//   node --conditions=kiln-src --import @swc-node/register/esm-register scripts/tensorflow/verify-gpu.ts
// 1. selectBackend({ accelerator: 'gpu' }) must succeed and TensorFlow must report a GPU device;
// 2. TensorFlow's own start-up log must show "Created device .../device:GPU:0" (device placement);
// 3. throughput of a 4096² matmul and of MLP training steps on the GPU vs the same package on the CPU
//    (CUDA_VISIBLE_DEVICES=-1), printed as a ratio.
// Exit code 0 only when a GPU was used. `--package @tensorflow/tfjs-node` dry-runs the script on a CPU
// machine (it then reports, correctly, that no GPU was used).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    child: { type: 'string' },
    package: { type: 'string', default: '@tensorflow/tfjs-node-gpu' },
    size: { type: 'string', default: '4096' },
  },
});
const pkg = a.package as string;

interface ChildReport {
  usingGpu: boolean;
  matmulGflops: number;
  mlpSamplesPerS: number;
  kilnDevice: string | null;
}

async function child(mode: 'gpu' | 'cpu'): Promise<void> {
  const tf = (await import(pkg)) as typeof import('@tensorflow/tfjs');
  let kilnDevice: string | null = null;
  if (mode === 'gpu' && pkg.endsWith('-gpu')) {
    const { selectBackend } = await import('../../libs/trainer/src/backend/index.js');
    kilnDevice = (await selectBackend({ accelerator: 'gpu', backend: 'tensorflow' })).device;
  }
  await tf.setBackend('tensorflow');
  const native = tf.backend() as unknown as { binding?: { isUsingGpuDevice?(): boolean } };
  const usingGpu = native.binding?.isUsingGpuDevice?.() ?? false;
  // matmul throughput (after one warm-up call)
  const n = Number(a.size);
  const x = tf.randomNormal([n, n]);
  tf.matMul(x, x).dataSync();
  const reps = usingGpu ? 20 : 2;
  let t0 = performance.now();
  for (let i = 0; i < reps; i++) tf.tidy(() => tf.matMul(x, x).dataSync());
  const matmulGflops = (2 * n ** 3 * reps) / ((performance.now() - t0) / 1000) / 1e9;
  // MLP 784-256-10 training steps, batch 128, Adam
  const w1 = tf.variable(tf.randomNormal([784, 256], 0, 0.05));
  const w2 = tf.variable(tf.randomNormal([256, 10], 0, 0.05));
  const xb = tf.randomUniform([128, 784]);
  const yb = tf.oneHot(tf.randomUniform([128], 0, 10, 'int32') as import('@tensorflow/tfjs').Tensor1D, 10);
  const opt = tf.train.adam(1e-3);
  const step = () =>
    opt.minimize(
      () =>
        tf.losses.softmaxCrossEntropy(
          yb,
          tf.matMul(tf.relu(tf.matMul(xb, w1)), w2),
        ) as import('@tensorflow/tfjs').Scalar,
      true,
    );
  for (let i = 0; i < 10; i++) step()?.dataSync();
  const steps = 200;
  t0 = performance.now();
  for (let i = 0; i < steps; i++) step()?.dispose();
  step()?.dataSync();
  const mlpSamplesPerS = ((steps + 1) * 128) / ((performance.now() - t0) / 1000);
  const report: ChildReport = { usingGpu, matmulGflops, mlpSamplesPerS, kilnDevice };
  console.log(`REPORT ${JSON.stringify(report)}`);
}

function runChild(mode: 'gpu' | 'cpu'): { report: ChildReport; log: string } {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(
    process.execPath,
    [
      '--conditions=kiln-src',
      '--import',
      '@swc-node/register/esm-register',
      self,
      '--child',
      mode,
      '--package',
      pkg,
    ],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        TF_CPP_MIN_LOG_LEVEL: '0', // INFO: TensorFlow logs each device it creates
        ...(mode === 'cpu' ? { CUDA_VISIBLE_DEVICES: '-1' } : {}),
      },
    },
  );
  const m = /REPORT (.*)/.exec(r.stdout);
  if (!m) throw new Error(`${mode} run failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  return { report: JSON.parse(m[1] as string) as ChildReport, log: r.stderr };
}

if (a.child === 'gpu' || a.child === 'cpu') {
  await child(a.child);
} else {
  const gpu = runChild('gpu');
  const placement = gpu.log
    .split('\n')
    .filter((l) => /Created device .*GPU|device:GPU:\d|Could not load dynamic library|cuInit/.test(l));
  console.log(`package: ${pkg}`);
  console.log(`Kiln selectBackend: ${gpu.report.kilnDevice ?? '(not tried: not the GPU package)'}`);
  console.log(`TensorFlow reports a GPU device: ${gpu.report.usingGpu}`);
  console.log(
    `device log:\n  ${placement.length ? placement.join('\n  ') : '(no GPU device lines in TensorFlow log)'}`,
  );
  const cpu = runChild('cpu');
  console.log('\n                    gpu run       cpu run (CUDA_VISIBLE_DEVICES=-1)   ratio');
  console.log(
    `matmul ${a.size}² GFLOP/s ${gpu.report.matmulGflops.toFixed(1).padStart(10)} ${cpu.report.matmulGflops.toFixed(1).padStart(12)}                      ${(gpu.report.matmulGflops / cpu.report.matmulGflops).toFixed(1)}×`,
  );
  console.log(
    `MLP train samples/s  ${gpu.report.mlpSamplesPerS.toFixed(0).padStart(10)} ${cpu.report.mlpSamplesPerS.toFixed(0).padStart(12)}                      ${(gpu.report.mlpSamplesPerS / cpu.report.mlpSamplesPerS).toFixed(1)}×`,
  );
  if (!gpu.report.usingGpu) {
    console.error('\nFAIL: TensorFlow ran on the CPU; no GPU was used');
    process.exit(1);
  }
  console.log('\nOK: a GPU was used');
}

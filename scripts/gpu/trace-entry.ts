// Imports what scripts/gpu/run.sh runs on the GPU machine (the Trainer, its WebGPU backend, Dawn's
// binding, the device tests' fixtures, the benchmark's models), so trace-hook.mjs sees every package
// file those need. Importing is enough: nothing here trains.
import '@kiln/trainer';
import '../../libs/trainer/src/backend/webgpu.js';
import '../../libs/trainer/test/fixtures/tiny.js';
import '../../libs/trainer/test/fixtures/lcg.js';
import '../../bench/vs-pytorch/models.js';
import '@tensorflow/tfjs-backend-webgpu';

// the optional binding, by a variable specifier as the backend loads it
const dawn: string = 'webgpu';
await import(dawn);

// Prints the WebGPU adapter Dawn finds (vendor, architecture, device, driver description, features,
// limits) as JSON, or the selection error with its fix and exit code 1. scripts/gpu/run.sh runs it first.
import { probeWebgpu } from '../../libs/trainer/src/backend/webgpu.js';

const probe = await probeWebgpu();
if (!probe.ok) {
  console.error(probe.error.message);
  process.exit(1);
}
console.log(JSON.stringify(probe.description, null, 2));
// Dawn's instance can hold the event loop open; the answer is printed
process.exit(0);

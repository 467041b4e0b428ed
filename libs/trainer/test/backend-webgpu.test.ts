// Selecting the `webgpu` backend (tfjs's WebGPU backend on Dawn, npm `webgpu`) where Dawn finds no
// adapter: every CPU machine here and in CI (no Vulkan loader; Debian's lavapipe is no Dawn adapter).
// The same selection with an adapter is checked on a GPU machine by backend-webgpu-device.gpu.ts,
// which scripts/gpu/run.sh runs there.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BackendOptionError, BackendUnavailableError, selectBackend } from '../src/backend/index.js';
import { findVulkanLoader, probeWebgpu } from '../src/backend/webgpu.js';
import { Trainer } from '../src/index.js';
import { quiet, TinyData, TinyRegressor, tmp } from './fixtures/tiny.js';

// Selection is what these tests check: a forced backend (for running other suites) must not apply.
delete process.env.KILN_FORCE_BACKEND;

describe('webgpu backend without an adapter', () => {
  before(async () => {
    const probe = await probeWebgpu();
    // this file states what a machine without a WebGPU adapter does; on a GPU machine run the .gpu.ts one
    assert.equal(
      probe.ok,
      false,
      'this machine has a WebGPU adapter: run backend-webgpu-device.gpu.ts instead',
    );
  });

  it("backend 'webgpu' names the adapter search, what the Vulkan search saw, and the fix", async () => {
    await assert.rejects(selectBackend({ backend: 'webgpu' }), (e: Error) => {
      assert.ok(e instanceof BackendUnavailableError, `${e.name}: ${e.message}`);
      assert.equal((e as BackendUnavailableError).backend, 'webgpu');
      assert.match(
        e.message,
        /backend 'webgpu' is not available: Dawn's adapter search \(navigator\.gpu\.requestAdapter/,
      );
      assert.match(e.message, /found no WebGPU adapter/);
      assert.match(e.message, /Vulkan loader|libvulkan\.so\.1/);
      assert.match(
        e.message,
        /Install it with: install the Vulkan loader \(Debian\/Ubuntu: apt-get install libvulkan1\)/,
      );
      assert.match(e.message, /VK_DRIVER_FILES/);
      assert.match(e.message, /or choose backend 'tensorflow' \| 'wasm' \| 'cpu'/);
      return true;
    });
    // nothing was switched to: the backend active before the failed selection stays
    assert.notEqual(tf.getBackend(), 'webgpu');
  });

  it("accelerator 'gpu' lists every GPU backend tried, each with its reason and fix", async () => {
    await assert.rejects(selectBackend({ accelerator: 'gpu' }), (e: Error) => {
      assert.equal(e.name, 'NoGpuBackendError', e.message);
      assert.match(e.message, /^accelerator 'gpu': no GPU backend is usable:/);
      assert.match(e.message, /backend 'tensorflow \(gpu\)' is not available: .*tfjs-node-gpu/);
      assert.match(e.message, /backend 'webgpu' is not available: /);
      assert.match(e.message, /Install it with: install the Vulkan loader/);
      return true;
    });
    await assert.rejects(
      selectBackend({ accelerator: 'gpu', backend: 'webgpu' }),
      /backend 'webgpu' is not available/,
    );
  });

  it("'auto' falls through to the next backend, on the CPU", async () => {
    const info = await selectBackend({ backend: 'auto', accelerator: 'auto' });
    assert.ok(['tensorflow', 'wasm', 'cpu'].includes(info.name), info.name);
    assert.equal(info.accelerator, 'cpu');
    assert.equal(tf.getBackend(), info.name);
  });

  it("backend 'webgpu' with accelerator 'cpu' is refused, naming the field", async () => {
    await assert.rejects(
      selectBackend({ backend: 'webgpu', accelerator: 'cpu' }),
      (e: Error) =>
        e instanceof BackendOptionError &&
        /'accelerator' must be 'gpu' or 'auto' when backend is 'webgpu', got "cpu"/.test(e.message),
    );
  });

  it('KILN_FORCE_BACKEND=webgpu asks for WebGPU on the GPU (and fails here with the same reason)', async () => {
    process.env.KILN_FORCE_BACKEND = 'webgpu';
    try {
      await assert.rejects(
        selectBackend({ backend: 'cpu', accelerator: 'cpu' }),
        /backend 'webgpu' is not available/,
      );
    } finally {
      delete process.env.KILN_FORCE_BACKEND;
    }
  });

  it("Trainer({ backend: 'webgpu' }).fit fails before training with the same error, and trains nothing", async () => {
    const root = tmp('webgpu-fit');
    const module = new TinyRegressor();
    const before = module.parameters().map((v) => Array.from(v.dataSync()));
    const trainer = new Trainer(quiet(root, { backend: 'webgpu', maxSteps: 2 }));
    await assert.rejects(
      trainer.fit(module, new TinyData()),
      /backend 'webgpu' is not available: Dawn's adapter search/,
    );
    assert.equal(trainer.globalStep, 0);
    assert.deepEqual(
      module.parameters().map((v) => Array.from(v.dataSync())),
      before,
    );
    // the Trainer option itself accepts 'webgpu' and still names the allowed values for others
    assert.throws(
      // biome-ignore lint/suspicious/noExplicitAny: deliberately wrong input
      () => new Trainer(quiet(root, { backend: 'webgl' as any })),
      /backend.*'webgpu'/,
    );
  });
});

describe('findVulkanLoader', () => {
  it('finds the loader on LD_LIBRARY_PATH and the driver manifests VK_DRIVER_FILES names', () => {
    const dir = tmp('vulkan');
    mkdirSync(join(dir, 'lib'));
    writeFileSync(join(dir, 'lib', 'libvulkan.so.1'), '');
    const icd = join(dir, 'nvidia_icd.json');
    writeFileSync(icd, '{}');
    const seen = findVulkanLoader({
      LD_LIBRARY_PATH: join(dir, 'lib'),
      VK_DRIVER_FILES: `${icd}:${join(dir, 'gone.json')}`,
    });
    assert.equal(seen.loader, join(dir, 'lib', 'libvulkan.so.1'));
    // a named manifest that does not exist is not reported as found
    assert.deepEqual(seen.drivers, [icd]);
  });

  it('reports no driver manifest when VK_DRIVER_FILES names only missing files', () => {
    const seen = findVulkanLoader({ VK_DRIVER_FILES: '/nonexistent/icd.json' });
    assert.deepEqual(seen.drivers, []);
  });
});

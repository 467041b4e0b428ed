import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DataLoader,
  type Dataset,
  defaultCollate,
  permutation,
  Rng,
  TensorDataset,
  tf,
} from '../src/index.js';

const ids = (n: number) => new TensorDataset(tf.range(0, n, 1, 'int32').reshape([n, 1]));
const batches = (l: DataLoader) => [...l].map((b) => Array.from((b as tf.Tensor[])[0]!.dataSync()));

test('batches in order, with a short last batch unless dropLast', () => {
  assert.deepEqual(batches(new DataLoader(ids(7), { batchSize: 3 })), [[0, 1, 2], [3, 4, 5], [6]]);
  assert.deepEqual(batches(new DataLoader(ids(7), { batchSize: 3, dropLast: true })), [
    [0, 1, 2],
    [3, 4, 5],
  ]);
  assert.equal(new DataLoader(ids(7), { batchSize: 3 }).length, 3);
  assert.equal(new DataLoader(ids(7), { batchSize: 3, dropLast: true }).length, 2);
});

test('seeded shuffling: the same seed and epoch give the same order, another epoch another order', () => {
  const a = new DataLoader(ids(50), { batchSize: 10, shuffle: true, seed: 5 });
  const b = new DataLoader(ids(50), { batchSize: 10, shuffle: true, seed: 5 });
  const e0 = batches(a).flat();
  assert.deepEqual(batches(b).flat(), e0);
  assert.deepEqual(
    [...e0].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.notDeepEqual(
    e0,
    Array.from({ length: 50 }, (_, i) => i),
  );
  a.setEpoch(1);
  assert.notDeepEqual(batches(a).flat(), e0);
  const c = new DataLoader(ids(50), { batchSize: 10, shuffle: true, seed: 6 });
  assert.notDeepEqual(batches(c).flat(), e0);
});

test('a saved position resumes with exactly the batches not yet seen', () => {
  const a = new DataLoader(ids(40), { batchSize: 4, shuffle: true, seed: 1 });
  a.setEpoch(2);
  const all = batches(a);
  const b = new DataLoader(ids(40), { batchSize: 4, shuffle: true, seed: 1 });
  b.setEpoch(2);
  b.beginEpoch();
  for (let i = 0; i < 3; i++) tf.dispose(b.nextBatch() as tf.Tensor[]);
  const saved = b.state();
  assert.deepEqual(saved, { epoch: 2, position: 3, seed: 1 });
  const c = new DataLoader(ids(40), { batchSize: 4, shuffle: true, seed: 1 });
  c.loadState(saved);
  c.setEpoch(2);
  assert.deepEqual(batches(c), all.slice(3));
  const other = new DataLoader(ids(40), { batchSize: 4, shuffle: true, seed: 2 });
  assert.throws(() => other.loadState(saved), /seeded 1 but this loader has seed 2/);
});

test('the sharding hook picks each rank its part of every epoch', () => {
  const parts = [0, 1].map((rank) => {
    const l = new DataLoader(ids(10), { batchSize: 2, shuffle: true, seed: 3 });
    l.setShard((idx) => idx.filter((_, i) => i % 2 === rank));
    return batches(l).flat();
  });
  assert.equal(parts[0]!.length, 5);
  assert.deepEqual(
    [...parts[0]!, ...parts[1]!].sort((x, y) => x - y),
    Array.from({ length: 10 }, (_, i) => i),
  );
});

test('sample-wise data sets are collated into tensors', () => {
  const ds: Dataset<[number[], number]> = { length: 5, get: (i) => [[i, i * 2], i % 2] };
  const [x, y] = new DataLoader(ds, { batchSize: 2 }).makeBatch(Int32Array.from([3, 4])) as tf.Tensor[];
  assert.deepEqual(x!.arraySync(), [
    [3, 6],
    [4, 8],
  ]);
  assert.deepEqual(y!.arraySync(), [1, 0]);
  const named = defaultCollate([{ a: [1] }, { a: [2] }]) as Record<string, tf.Tensor>;
  assert.deepEqual(named.a!.arraySync(), [[1], [2]]);
  assert.throws(
    () => defaultCollate([['x'], ['y']]),
    /cannot collate field 0: expected tensors, numbers or number arrays, got string/,
  );
});

test('Rng: reproducible, state round-trips, permutation is a permutation', () => {
  const a = new Rng(9);
  const first = [a.next(), a.next()];
  const st = a.getState();
  const next = a.next();
  const b = new Rng(0);
  b.setState(st);
  assert.equal(b.next(), next);
  assert.deepEqual([new Rng(9).next(), new Rng(9).next()][0], first[0]);
  const p = permutation(100, 4, 0);
  assert.deepEqual(
    [...p].sort((x, y) => x - y),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.throws(() => b.setState([1, 2]), /RNG state must be 4 uint32 words/);
});

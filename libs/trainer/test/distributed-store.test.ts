import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { readDistributedEnv } from '../src/distributed/env.js';
import { DistributedConfigError, RendezvousTimeoutError } from '../src/distributed/errors.js';
import { freePort } from '../src/distributed/launcher.js';
import { StoreClient, StoreServer, StoreWaitTimeout } from '../src/distributed/store.js';

describe('rendezvous store over real sockets', () => {
  const servers: StoreServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });
  const open = async (worldSize: number) => {
    const s = await StoreServer.listen('127.0.0.1', 0, worldSize);
    servers.push(s);
    return s;
  };
  const client = (
    s: StoreServer,
    rank: number,
    extra: Partial<Parameters<typeof StoreClient.connect>[0]> = {},
  ) =>
    StoreClient.connect({
      host: '127.0.0.1',
      port: s.port,
      rank,
      worldSize: s.worldSize,
      timeoutMs: 2000,
      ...extra,
    });

  it('set, get, add and wait', async () => {
    const s = await open(2);
    const a = await client(s, 0);
    const b = await client(s, 1);
    assert.equal(await a.get('k'), null);
    const waiting = b.wait(['k', 'j'], 2000);
    await a.set('k', 'v');
    await a.set('j', 'w');
    assert.deepEqual(await waiting, ['v', 'w']);
    assert.equal(await a.add('n', 2), 2);
    assert.equal(await b.add('n', 3), 5);
    await a.goodbye();
    await b.goodbye();
  });

  it('wait times out naming the keys still missing', async () => {
    const s = await open(1);
    const a = await client(s, 0);
    await a.set('addr/0', 'x');
    await assert.rejects(a.wait(['addr/0', 'addr/1', 'addr/2'], 200), (err: unknown) => {
      assert.ok(err instanceof StoreWaitTimeout);
      assert.deepEqual(err.missing, ['addr/1', 'addr/2']);
      return true;
    });
    await a.goodbye();
  });

  it('a rank whose connection drops without goodbye is announced lost to everyone', async () => {
    const s = await open(3);
    const aborts: string[] = [];
    const a = await client(s, 0, { onAbort: (r, why) => aborts.push(`a:${r}:${why}`) });
    const b = await client(s, 1, { onAbort: (r) => aborts.push(`b:${r}`) });
    const c = await client(s, 2);
    c.close();
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(aborts.sort(), ['a:2:its connection to the rendezvous store closed', 'b:2']);
    a.close();
    b.close();
  });

  it('rejects a second process with the same rank and a world size mismatch', async () => {
    const s = await open(2);
    const a = await client(s, 1);
    await assert.rejects(
      client(s, 1),
      (err: unknown) => err instanceof DistributedConfigError && /RANK=1 joined twice/.test(err.message),
    );
    await assert.rejects(
      StoreClient.connect({ host: '127.0.0.1', port: s.port, rank: 0, worldSize: 3, timeoutMs: 1000 }),
      /WORLD_SIZE=3 but rank 0 has WORLD_SIZE=2/,
    );
    a.close();
  });

  it('gives up on an absent rank 0 after the timeout, naming it', async () => {
    const port = await freePort();
    await assert.rejects(
      StoreClient.connect({ host: '127.0.0.1', port, rank: 1, worldSize: 2, timeoutMs: 300 }),
      (err: unknown) =>
        err instanceof RendezvousTimeoutError && /rank 0 of 2 never arrived/.test(err.message),
    );
  });
});

describe('environment contract', () => {
  it('reads the torchrun variables and derives the local ones', () => {
    const e = readDistributedEnv({
      WORLD_SIZE: '4',
      RANK: '3',
      MASTER_ADDR: 'h',
      MASTER_PORT: '1234',
      LOCAL_WORLD_SIZE: '2',
    });
    assert.deepEqual(
      { ...e },
      {
        masterAddr: 'h',
        masterPort: 1234,
        worldSize: 4,
        rank: 3,
        localRank: 1,
        nodeRank: 1,
        localWorldSize: 2,
        runId: undefined,
      },
    );
    assert.equal(readDistributedEnv({}).worldSize, 1);
  });

  it('names the field and what was expected when a value is wrong', () => {
    assert.throws(
      () => readDistributedEnv({ WORLD_SIZE: '2', RANK: '2', MASTER_ADDR: 'h', MASTER_PORT: '1' }),
      /RANK=2: expected an integer below WORLD_SIZE=2/,
    );
    assert.throws(
      () => readDistributedEnv({ WORLD_SIZE: 'two' }),
      /WORLD_SIZE="two": expected an integer >= 1/,
    );
    assert.throws(
      () => readDistributedEnv({ WORLD_SIZE: '2', RANK: '0', MASTER_PORT: '1' }),
      /MASTER_ADDR is not set/,
    );
    assert.throws(
      () => readDistributedEnv({ WORLD_SIZE: '2', RANK: '0', MASTER_ADDR: 'h' }),
      /MASTER_PORT is not set/,
    );
    assert.throws(
      () => readDistributedEnv({ WORLD_SIZE: '2', MASTER_ADDR: 'h', MASTER_PORT: '1' }),
      /RANK is not set/,
    );
  });
});

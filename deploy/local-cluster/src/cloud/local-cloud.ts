// The local cloud behind the Cluster Autoscaler: node pools whose instances become agent nodes after a
// boot delay. It keeps the state a cloud keeps (target size, instances creating/running/deleting, their
// errors) and answers in the terms of CA's cloudprovider.NodeGroup contract; grpc-server.ts maps it to the
// externalgrpc service. Stock-outs can be injected per pool, in the two ways clouds report them.
import type { V1Node } from '@kubernetes/client-node';
import { type NodeSpec, nodeCapacity, nodeLabels } from '../agent/node-agent.js';
import { type NodePoolSpec, providerPrefix, validatePools } from './pools.js';

/** What the cloud needs from the node agent. */
export interface NodeHost {
  addNode(spec: NodeSpec): Promise<void>;
  removeNode(name: string, opts?: { graceSeconds?: number }): Promise<void>;
}

/**
 * `reject`: the scale-up call itself fails (RESOURCE_EXHAUSTED), as when a zone has no capacity left.
 * `fail-boot`: the scale-up is accepted but the instances end in an out-of-resources error instead of
 * booting, as with a cloud that reports stock-outs asynchronously.
 */
export type StockOut = false | 'reject' | 'fail-boot';

export type InstanceState = 'creating' | 'running' | 'deleting';

export interface Instance {
  /** the providerID, kiln://<pool>/<node name>; CA matches it to Node.spec.providerID */
  id: string;
  name: string;
  pool: string;
  state: InstanceState;
  error?: { code: string; message: string };
  createdMs: number;
  readyMs?: number;
  timer?: NodeJS.Timeout;
}

/** An error the gRPC layer maps to a status code (grpc-js `status`). */
export class CloudError extends Error {
  constructor(
    readonly kind: 'not-found' | 'invalid' | 'exhausted',
    message: string,
  ) {
    super(message);
  }
}

export interface CloudEvent {
  type: 'increase' | 'registered' | 'boot-failed' | 'deleted' | 'decrease' | 'rejected';
  pool: string;
  node?: string;
  delta?: number;
  atMs: number;
}

export class LocalCloud {
  readonly pools: Required<NodePoolSpec>[];
  private readonly instances = new Map<string, Instance>();
  private readonly stockOuts = new Map<string, StockOut>();
  private readonly listeners = new Set<(e: CloudEvent) => void>();
  private counter = 0;
  private stopped = false;

  constructor(
    private readonly host: NodeHost,
    pools: NodePoolSpec[],
    private readonly log: (m: string) => void = (m) => console.error(`[local-cloud] ${m}`),
  ) {
    this.pools = validatePools(pools);
  }

  /** Boots each pool's minimum at once (no delay), as a cloud's pool exists before the cluster. */
  async start(): Promise<void> {
    for (const pool of this.pools) {
      for (let i = 0; i < pool.min; i++) {
        const inst = this.newInstance(pool.id);
        await this.boot(inst);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    for (const inst of this.instances.values()) clearTimeout(inst.timer);
  }

  /** Events as they happen (for tests and the benchmark: when a scale-up was asked for, when nodes came). */
  on(listener: (e: CloudEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setStockOut(poolId: string, mode: StockOut): void {
    this.pool(poolId);
    this.stockOuts.set(poolId, mode);
    this.log(`pool ${poolId}: stock-out ${mode || 'cleared'}`);
  }

  pool(id: string): Required<NodePoolSpec> {
    const pool = this.pools.find((p) => p.id === id);
    if (!pool)
      throw new CloudError(
        'not-found',
        `node group "${id}" does not exist (pools: ${this.pools.map((p) => p.id).join(', ')})`,
      );
    return pool;
  }

  /** The pool a node belongs to, by its providerID; undefined for nodes outside every pool. */
  poolForNode(providerID: string | undefined): Required<NodePoolSpec> | undefined {
    const inst = providerID ? this.instances.get(providerID) : undefined;
    if (inst) return this.pool(inst.pool);
    // A node of ours whose instance we no longer track (e.g. being deleted) still names its pool.
    if (!providerID?.startsWith(providerPrefix)) return undefined;
    const id = providerID.slice(providerPrefix.length).split('/')[0];
    return this.pools.find((p) => p.id === id);
  }

  listInstances(poolId?: string): Instance[] {
    return [...this.instances.values()].filter((i) => poolId === undefined || i.pool === poolId);
  }

  targetSize(poolId: string): number {
    this.pool(poolId);
    return this.listInstances(poolId).filter((i) => i.state !== 'deleting').length;
  }

  increaseSize(poolId: string, delta: number): void {
    const pool = this.pool(poolId);
    if (!Number.isInteger(delta) || delta <= 0) {
      throw new CloudError('invalid', `delta: expected a whole number > 0, got ${delta}`);
    }
    const size = this.targetSize(poolId);
    if (size + delta > pool.max) {
      throw new CloudError(
        'invalid',
        `node group ${poolId}: size ${size} + ${delta} exceeds max ${pool.max}`,
      );
    }
    if (this.stockOuts.get(poolId) === 'reject') {
      this.emit({ type: 'rejected', pool: poolId, delta });
      throw new CloudError(
        'exhausted',
        `node group ${poolId}: out of stock (injected stock-out), ${delta} node(s) not created`,
      );
    }
    for (let i = 0; i < delta; i++) {
      const inst = this.newInstance(poolId);
      inst.timer = setTimeout(() => void this.finishBoot(inst), pool.bootDelayMs);
      inst.timer.unref();
    }
    this.emit({ type: 'increase', pool: poolId, delta });
    this.log(`pool ${poolId}: +${delta} → target ${this.targetSize(poolId)}`);
  }

  /** Removes named nodes of the pool (CA's scale-down, or its cleanup of instances that failed to boot). */
  async deleteNodes(poolId: string, nodes: { providerID?: string; name?: string }[]): Promise<void> {
    this.pool(poolId);
    const victims = nodes.map((n) => {
      const inst =
        (n.providerID ? this.instances.get(n.providerID) : undefined) ??
        this.listInstances(poolId).find((i) => i.name === n.name);
      if (!inst || inst.pool !== poolId) {
        throw new CloudError(
          'invalid',
          `node ${n.name || n.providerID} does not belong to node group ${poolId}`,
        );
      }
      return inst;
    });
    await Promise.all(victims.map((inst) => this.remove(inst)));
  }

  /** Cancels scale-up that has not registered yet; never removes a registered node. */
  decreaseTargetSize(poolId: string, delta: number): void {
    this.pool(poolId);
    if (!Number.isInteger(delta) || delta >= 0) {
      throw new CloudError('invalid', `delta: expected a whole number < 0, got ${delta}`);
    }
    const pending = this.listInstances(poolId).filter((i) => i.state === 'creating');
    if (-delta > pending.length) {
      throw new CloudError(
        'invalid',
        `node group ${poolId}: cannot decrease target by ${-delta}, only ${pending.length} node(s) not yet registered`,
      );
    }
    for (const inst of pending.slice(0, -delta)) {
      clearTimeout(inst.timer);
      this.instances.delete(inst.id);
    }
    this.emit({ type: 'decrease', pool: poolId, delta });
  }

  /** The Node a new instance of the pool will register as (CA simulates scale-up from zero with it). */
  templateNode(poolId: string): V1Node {
    const pool = this.pool(poolId);
    const name = `${poolId}-template`;
    const capacity = nodeCapacity(pool.template);
    return {
      metadata: { name, labels: nodeLabels(name, pool.template) },
      spec: { taints: pool.template.taints ?? [], providerID: `${providerPrefix}${poolId}/template` },
      status: {
        capacity,
        allocatable: capacity,
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    } as unknown as V1Node;
  }

  private newInstance(poolId: string): Instance {
    const name = `${poolId}-${++this.counter}`;
    const inst: Instance = {
      id: `${providerPrefix}${poolId}/${name}`,
      name,
      pool: poolId,
      state: 'creating',
      createdMs: Date.now(),
    };
    this.instances.set(inst.id, inst);
    return inst;
  }

  private async finishBoot(inst: Instance): Promise<void> {
    inst.timer = undefined;
    if (this.stopped || this.instances.get(inst.id) !== inst || inst.state !== 'creating') return;
    if (this.stockOuts.get(inst.pool) === 'fail-boot') {
      inst.error = {
        code: 'OUT_OF_STOCK',
        message: `no capacity left in node group ${inst.pool} (injected stock-out)`,
      };
      this.emit({ type: 'boot-failed', pool: inst.pool, node: inst.name });
      return;
    }
    try {
      await this.boot(inst);
    } catch (err) {
      inst.error = { code: 'BOOT_FAILED', message: (err as Error).message };
      this.log(`node ${inst.name}: ${(err as Error).message}`);
    }
  }

  private async boot(inst: Instance): Promise<void> {
    const pool = this.pool(inst.pool);
    await this.host.addNode({ ...pool.template, name: inst.name, providerID: inst.id });
    if (this.instances.get(inst.id) !== inst) {
      // Deleted while registering: take the node away again.
      await this.host.removeNode(inst.name).catch(() => {});
      return;
    }
    inst.state = 'running';
    inst.readyMs = Date.now();
    this.emit({ type: 'registered', pool: inst.pool, node: inst.name });
    this.log(`node ${inst.name}: registered ${inst.readyMs - inst.createdMs} ms after it was asked for`);
  }

  private async remove(inst: Instance): Promise<void> {
    const wasRunning = inst.state === 'running';
    inst.state = 'deleting';
    clearTimeout(inst.timer);
    try {
      if (wasRunning) await this.host.removeNode(inst.name, { graceSeconds: 0 });
    } finally {
      this.instances.delete(inst.id);
      this.emit({ type: 'deleted', pool: inst.pool, node: inst.name });
      this.log(`pool ${inst.pool}: removed ${inst.name} → target ${this.targetSize(inst.pool)}`);
    }
  }

  private emit(e: Omit<CloudEvent, 'atMs'>): void {
    const event = { ...e, atMs: Date.now() };
    for (const l of this.listeners) l(event);
  }
}

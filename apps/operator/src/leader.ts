// Leader election on a coordination.k8s.io Lease, as client-go does it: the holder renews the Lease
// every `retryPeriod`; another replica takes it over only after it has seen the same Lease unchanged
// for `leaseDuration` (by its own clock, so clock skew between replicas does not matter). Writes go
// through the Lease's resourceVersion, so two replicas can never both win. On graceful shutdown the
// holder releases the Lease so a successor starts at once.
import { hostname } from 'node:os';
import { isConflict, isNotFound } from '@kiln/kube';
import type { V1Lease } from '@kubernetes/client-node';
import type { KubeClient } from './kube.js';
import type { Log } from './log.js';

/** The apiserver wants MicroTime (6 fractional digits); client-node would send a Date's 3. */
const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity?: string;
  leaseDurationSeconds?: number;
  retryPeriodMs?: number;
}

/**
 * The Lease's namespace does not exist. Retrying cannot help (the operator does not create namespaces:
 * that would need a cluster-wide right it has no other use for), so `acquire` rejects at once.
 */
export class LeaseNamespaceMissingError extends Error {
  override name = 'LeaseNamespaceMissingError';
  constructor(readonly namespace: string) {
    super(
      `the lease namespace "${namespace}" does not exist: create it (kubectl create namespace ${namespace}) ` +
        'or choose an existing one with --lease-namespace (KILN_OPERATOR_LEASE_NAMESPACE)',
    );
  }
}

export class LeaderElector {
  readonly identity: string;
  private readonly leaseDurationSeconds: number;
  private readonly retryPeriodMs: number;
  private observed?: { resourceVersion: string; at: number };
  private leading = false;
  private lastRenewedAt = 0;
  private heldByOther = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private onLost?: () => void;

  constructor(
    private readonly kube: KubeClient,
    private readonly options: LeaderElectionOptions,
    private readonly log: Log,
  ) {
    this.identity =
      options.identity ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.leaseDurationSeconds = options.leaseDurationSeconds ?? 15;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Resolves true once this replica leads (false if released first); `onLost` runs if it later loses it.
   * Rejects with LeaseNamespaceMissingError when the Lease's namespace does not exist.
   */
  async acquire(onLost: () => void): Promise<boolean> {
    this.onLost = onLost;
    while (!this.stopped) {
      const won = await this.tryAcquireOrRenew().catch((err) => {
        if (err instanceof LeaseNamespaceMissingError) throw err;
        this.log.warn({ err: String(err) }, 'leader election attempt failed');
        return false;
      });
      if (won) {
        this.leading = true;
        this.log.info({ identity: this.identity, lease: this.options.name }, 'became leader');
        this.scheduleRenew();
        return true;
      }
      await new Promise((r) => setTimeout(r, this.retryPeriodMs));
    }
    return false;
  }

  private scheduleRenew(): void {
    this.timer = setTimeout(async () => {
      if (this.stopped) return;
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        this.log.warn({ err: String(err) }, 'lease renewal failed');
      }
      // A renewal may fail transiently; give up only when the lease could have expired for others.
      const stale = Date.now() - this.lastRenewedAt > this.leaseDurationSeconds * 1000 * 0.8;
      if (!ok && (this.heldByOther || stale)) {
        this.leading = false;
        this.log.error({ identity: this.identity }, 'lost leadership');
        this.onLost?.();
        return;
      }
      this.scheduleRenew();
    }, this.retryPeriodMs);
    this.timer.unref();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name } = this.options;
    const now = microTime(new Date());
    const spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.leaseDurationSeconds,
      renewTime: now,
    };
    const current = await this.kube.readLease(namespace, name);
    if (!current) {
      try {
        const created = await this.kube.createLease({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { ...spec, acquireTime: now, leaseTransitions: 0 },
        });
        this.observe(created);
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        // The Lease was just read as missing; creating it answers 404 only when its namespace is missing.
        if (isNotFound(err)) throw new LeaseNamespaceMissingError(namespace);
        throw err;
      }
    }
    const rv = current.metadata?.resourceVersion ?? '';
    if (this.observed?.resourceVersion !== rv) this.observed = { resourceVersion: rv, at: Date.now() };
    const holder = current.spec?.holderIdentity ?? '';
    const duration = (current.spec?.leaseDurationSeconds ?? this.leaseDurationSeconds) * 1000;
    const mine = holder === this.identity;
    const expired = holder === '' || Date.now() - this.observed.at > duration;
    this.heldByOther = !mine && !expired;
    if (this.heldByOther) return false;
    const next: V1Lease = {
      ...current,
      spec: {
        ...current.spec,
        ...spec,
        acquireTime: mine && current.spec?.acquireTime ? microTime(new Date(current.spec.acquireTime)) : now,
        leaseTransitions: (current.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1),
      },
    };
    try {
      this.observe(await this.kube.replaceLease(next));
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  private observe(lease: V1Lease): void {
    this.lastRenewedAt = Date.now();
    this.observed = { resourceVersion: lease.metadata?.resourceVersion ?? '', at: Date.now() };
  }

  /** Stops renewing and, if leading, hands the Lease back so another replica can take it at once. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const current = await this.kube.readLease(this.options.namespace, this.options.name);
      if (current?.spec?.holderIdentity === this.identity) {
        await this.kube.replaceLease({
          ...current,
          spec: {
            ...current.spec,
            acquireTime: current.spec.acquireTime ? microTime(new Date(current.spec.acquireTime)) : undefined,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: microTime(new Date()),
          },
        });
      }
    } catch (err) {
      this.log.warn({ err: String(err) }, 'could not release the lease');
    }
  }
}

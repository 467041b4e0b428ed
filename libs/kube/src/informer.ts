// A cache of one kind of object kept current by list+watch. client-node's makeInformer lists, watches
// from the list's resourceVersion, and re-lists when the server answers 410 Gone (the version was
// compacted away); on any other error it stops, so this wrapper restarts it with backoff. `synced`
// resolves once the first list has filled the cache.
import {
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
} from '@kubernetes/client-node';

export interface CacheHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(obj: T): void;
  onDelete?(obj: T): void;
}

/** Where the cache says a watch failed and when it retries (a pino logger fits). */
export interface CacheLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

export class Cache<T> {
  private readonly informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private stopped = false;
  private errors = 0;
  private resolveSynced!: () => void;
  readonly synced: Promise<void> = new Promise((r) => {
    this.resolveSynced = r;
  });

  /**
   * `path`: the collection's URL path (`/api/v1/pods`, `/apis/<group>/<version>/<plural>`); `list`: the
   * same collection listed through a client (with the same label selector).
   */
  constructor(
    config: KubeConfig,
    path: string,
    list: () => Promise<{ items: unknown[] }>,
    handlers: CacheHandlers<T>,
    private readonly log: CacheLog,
    labelSelector?: string,
  ) {
    this.informer = makeInformer<KubernetesObject>(
      config,
      path,
      list as () => Promise<KubernetesListObject<KubernetesObject>>,
      labelSelector,
    );
    const { onAdd, onUpdate, onDelete } = handlers;
    if (onAdd) this.informer.on('add', (o) => onAdd(o as T));
    if (onUpdate) this.informer.on('update', (o) => onUpdate(o as T));
    if (onDelete) this.informer.on('delete', (o) => onDelete(o as T));
    this.informer.on('connect', () => {
      this.errors = 0;
    });
    this.informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      const delay = Math.min(30_000, 200 * 2 ** this.errors++);
      this.log.warn({ path, err: String(err), retryInMs: delay }, 'watch failed; restarting');
      setTimeout(() => {
        if (!this.stopped) this.start().catch(() => {});
      }, delay).unref();
    });
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.informer.start();
    // start() returns after the list and the watch request were issued, so the cache is filled.
    if ((this.informer as unknown as { latestResourceVersion(): string }).latestResourceVersion() !== '')
      this.resolveSynced();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer.stop();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace) as T | undefined;
  }

  list(namespace?: string): T[] {
    return [...this.informer.list(namespace)] as T[];
  }
}

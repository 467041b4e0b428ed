// A release of charts/kiln installed by a test into the local control plane (deploy/local-cluster), its
// images played from this checkout by the node agent: an empty Postgres database of its own (the chart's
// migrations Job must migrate it), Redis under its own prefix, and the ready endpoints of its Services as
// pods reach them (the node agent's Service records: there is no kube-proxy, and EndpointSlices refuse
// the agent's loopback pod addresses).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { TestCluster } from '@kiln/local-cluster/test-helper';
import type { V1Pod } from '@kubernetes/client-node';
import pg from 'pg';
import { chartDir, helmAsync, repoRoot } from './helm.js';
import { IMAGE_REGISTRY, platformImageMap } from './image-map.js';

export { chartDir, IMAGE_REGISTRY, repoRoot };

/** The chart's images, plus the trainer image TrainingJobs use, mapped to this checkout. */
export function releaseImages() {
  const { images, fromSource } = platformImageMap();
  // TrainingJobs' pods run the Trainer from the checkout (what deploy/images/trainer.Dockerfile holds).
  images[`${IMAGE_REGISTRY}/kiln-trainer`] = { root: repoRoot, workdir: '/kiln' };
  return { images, fromSource };
}

const baseUrl = process.env.DATABASE_URL ?? 'postgresql://kiln:kiln@127.0.0.1:5432/kiln';

export async function sql<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export interface ReleaseOptions {
  /** namespace prefix (the cluster helper adds a unique suffix) */
  namespace: string;
  /** --set pairs every install and upgrade gets, after the defaults */
  set?: string[];
}

export class TestRelease {
  readonly name = 'kiln';
  ns = '';
  databaseUrl = '';
  /**
   * The operator's checkpoint root, a host directory (the node agent's pods are host processes). Not
   * under /tmp: the release's pods mount an emptyDir there, and the agent maps every path under a mount,
   * environment values included, into that pod's own volume directory.
   */
  readonly checkpointRoot = mkdtempSync('/var/tmp/kiln-helm-ckpt-');
  private readonly database = `kiln_t_helm_${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly k: TestCluster,
    private readonly opts: ReleaseOptions,
  ) {}

  /** The namespace and the empty database; call in before(). */
  async prepare(): Promise<void> {
    this.ns = await this.k.namespace(this.opts.namespace);
    await sql(baseUrl, (c) => c.query(`CREATE DATABASE "${this.database}"`));
    const u = new URL(baseUrl);
    u.pathname = `/${this.database}`;
    this.databaseUrl = u.toString();
  }

  /** Drops the database and the checkpoint root; call in after(). */
  async cleanup(): Promise<void> {
    await sql(baseUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${this.database}" WITH (FORCE)`)).catch(
      () => {},
    );
    rmSync(this.checkpointRoot, { recursive: true, force: true });
  }

  /** --set arguments: this release's database, Redis prefix and checkpoint root, then `more`. */
  values(more: string[] = []): string[] {
    return [
      `image.registry=${IMAGE_REGISTRY}`,
      `database.url=${this.databaseUrl}`,
      `redisUrl=${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'}`,
      `redisPrefix=kiln-helm-${this.ns}`,
      `operator.checkpointRoot=${this.checkpointRoot}`,
      ...(this.opts.set ?? []),
      ...more,
    ].flatMap((s) => ['--set', s]);
  }

  /** Helm against this cluster and namespace; asserts it succeeded and returns its stdout. */
  async helm(args: string[]): Promise<string> {
    const r = await helmAsync(['--kubeconfig', this.k.kubeconfigPath, '--namespace', this.ns, ...args]);
    assert.equal(r.code, 0, `helm ${args[0]} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  install(more: string[] = []): Promise<string> {
    return this.helm(['install', this.name, chartDir, '--wait', '--timeout', '10m', ...this.values(more)]);
  }

  async pods(component?: string): Promise<V1Pod[]> {
    const selector = `app.kubernetes.io/instance=${this.name}${component ? `,app.kubernetes.io/component=${component}` : ''}`;
    return (await this.k.core.listNamespacedPod({ namespace: this.ns, labelSelector: selector })).items;
  }

  /** `host:port` of each ready endpoint of the release's Service for `component` (api, dashboard). */
  endpoints(component: string, port: number): string[] {
    const name = `${this.name}-${component}.${this.ns}.svc.cluster.local`;
    const ips: string[] = [];
    for (const line of readFileSync(this.k.agent!.hostsFile, 'utf8').split('\n')) {
      const [ip, ...names] = line.trim().split(/\s+/);
      if (ip && names.includes(name)) ips.push(ip);
    }
    return ips.map((ip) => `${ip}:${port}`);
  }

  /** The admin token the chart generated at install, from the release's Secret. */
  async adminToken(): Promise<string> {
    const secret = await this.k.core.readNamespacedSecret({ name: this.name, namespace: this.ns });
    return Buffer.from(secret.data!['admin-token']!, 'base64').toString();
  }
}

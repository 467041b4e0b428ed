// The local platform (scripts/platform.sh) started by a test on its own: its own state directory, ports,
// database, Redis prefix and, with the cluster, its own local control plane, so a developer's platform
// and the other tests are left alone.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '@kiln/db';
import { freePort } from '@kiln/local-cluster';

const run = promisify(execFile);
export const repoRoot = new URL('../..', import.meta.url).pathname;

export class OwnPlatform {
  private constructor(
    readonly home: string,
    readonly env: NodeJS.ProcessEnv,
    private readonly db: TestDatabase,
    private readonly cluster: boolean,
  ) {}

  /** State under /var/tmp, not /tmp: a pod's own /tmp mount would take over paths below it. */
  static async create(label: string, opts: { cluster?: boolean } = {}): Promise<OwnPlatform> {
    mkdirSync('/var/tmp', { recursive: true });
    const home = mkdtempSync(`/var/tmp/kiln-${label}-`);
    const db = await createTestDatabase(label.replace(/-/g, '_'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_OPTIONS: '',
      DATABASE_URL: db.url,
      KILN_PLATFORM_HOME: join(home, 'platform'),
      KILN_CLUSTER_HOME: join(home, 'cluster'),
      KILN_CLUSTER_NODES: JSON.stringify([{ name: 'local-1', cpu: '8', memory: '16Gi' }]),
      KILN_CLUSTER_POOLS: '[]',
      KILN_REDIS_PREFIX: `kiln-${label}-${process.pid}`,
      KILN_API_PORT: String(await freePort()),
      KILN_WEB_PORT: String(await freePort()),
      KILN_OPERATOR_PORT: String(await freePort()),
    };
    delete env.KUBECONFIG;
    delete env.KILN_IMAGE_MAP;
    return new OwnPlatform(home, env, db, opts.cluster ?? false);
  }

  /** `scripts/platform.sh up|down [--cluster]`; its status lines on stdout. */
  async platform(cmd: 'up' | 'down'): Promise<string> {
    const args = [join(repoRoot, 'scripts/platform.sh'), cmd, ...(this.cluster ? ['--cluster'] : [])];
    return (await run('bash', args, { cwd: repoRoot, env: this.env, timeout: 600_000 })).stdout;
  }

  /** Stops what `up` started, drops the database and the state directory. */
  async close(): Promise<void> {
    await this.platform('down').catch((e) => console.error(`platform down: ${e}`));
    await this.db.drop();
    rmSync(this.home, { recursive: true, force: true });
  }
}

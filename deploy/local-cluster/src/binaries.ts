// Finds the control-plane binaries: $KILN_K8S_BIN if set, else the cache that build.sh fills (running
// it first; when everything is cached it returns at once).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const binaryNames = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'];

const buildScript = new URL('../build.sh', import.meta.url).pathname;

export function ensureBinaries(binDir = process.env.KILN_K8S_BIN): string {
  const dir =
    binDir ??
    execFileSync('bash', [buildScript], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
      .trim()
      .split('\n')
      .pop()!;
  const missing = binaryNames.filter((name) => !existsSync(join(dir, name)));
  if (missing.length > 0) {
    throw new Error(
      `control-plane binaries missing in ${dir}: ${missing.join(', ')} (run deploy/local-cluster/build.sh, or set KILN_K8S_BIN to a directory holding them)`,
    );
  }
  return dir;
}

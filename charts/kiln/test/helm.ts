// The chart's test tools: Helm (built once from the Go module proxy by deploy/helm/build.sh) and the
// offline checks of deploy/helm/tools.sh (kubernetes-validate with the 1.37 schemas, hadolint), each
// cached under $KILN_CACHE.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
export const chartDir = fileURLToPath(new URL('..', import.meta.url));
export const KUBE_VERSION = '1.37.2';

let helmPath: string | undefined;
let toolsPath: string | undefined;

function lastLine(cmd: string): string {
  const out = execFileSync('bash', [cmd], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').at(-1)!;
}

export function helmBin(): string {
  helmPath ??= lastLine('deploy/helm/build.sh');
  return helmPath;
}

/** The bin directory holding kubernetes-validate and hadolint. */
export function toolsBin(): string {
  toolsPath ??= lastLine('deploy/helm/tools.sh');
  return toolsPath;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Run {
  const r = spawnSync(cmd, args, {
    cwd: repoRoot,
    encoding: 'utf8',
    input: opts.input,
    env: { ...process.env, ...opts.env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

const helmEnv = {
  HELM_CACHE_HOME: '/tmp/kiln-helm/cache',
  HELM_CONFIG_HOME: '/tmp/kiln-helm/config',
  HELM_DATA_HOME: '/tmp/kiln-helm/data',
};

export function helm(args: string[], env?: NodeJS.ProcessEnv): Run {
  return run(helmBin(), args, { env: { ...helmEnv, ...env } });
}

/** Helm without blocking the event loop: a test process that hosts the node agent must keep serving it. */
export function helmAsync(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      helmBin(),
      args,
      { cwd: repoRoot, env: { ...process.env, ...helmEnv }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `helm template` of the chart with these value files and --set pairs; throws with Helm's message on failure. */
export function template(valueFiles: string[], set: string[] = [], extra: string[] = []): string {
  const args = ['template', 'kiln', chartDir, '--namespace', 'kiln-system', '--kube-version', KUBE_VERSION];
  for (const f of valueFiles) args.push('-f', f);
  for (const s of set) args.push('--set', s);
  const r = helm([...args, ...extra]);
  if (r.code !== 0) throw new Error(r.stderr.trim() || `helm template exited ${r.code}`);
  return r.stdout;
}

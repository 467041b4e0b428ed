// Helpers for the PlatformLogger tests: a real Kiln API in a child process (the Trainer never imports
// platform code, so it talks to the API over HTTP like a pod does), and a TCP proxy in front of it that
// can be switched off to play an unreachable API.
import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

export interface ServedApi {
  url: string;
  databaseUrl: string;
  admin: string;
  projectId: string;
  projectToken: string;
  runId: string;
  runToken: string;
  stop(): Promise<void>;
}

export async function serveApi(env: Record<string, string> = {}): Promise<ServedApi> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--conditions=kiln-src',
      '--import',
      '@swc-node/register/esm-register',
      'apps/api/test/support/serve.ts',
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`API process exited with ${code} before it was ready`)));
  });
  const info = JSON.parse(first);
  return {
    ...info,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Forwards 127.0.0.1:<port> to `target`; `down()` refuses and cuts every connection until `up()`. */
export class SwitchableProxy {
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  private isUp = true;
  port = 0;

  constructor(private readonly target: URL) {}

  async start(): Promise<this> {
    this.server = createServer((client) => {
      if (!this.isUp) return client.destroy();
      const upstream = connect(Number(this.target.port), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  down(): void {
    this.isUp = false;
    for (const s of this.sockets) s.destroy();
  }

  up(): void {
    this.isUp = true;
  }

  async close(): Promise<void> {
    this.down();
    await new Promise((r) => this.server.close(r));
  }
}

/** GET against the API with a token; JSON answer. */
export async function apiGet<T = unknown>(api: { url: string }, token: string, path: string): Promise<T> {
  const res = await fetch(api.url + path, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

// The Kiln REST API as the CLI uses it: JSON over fetch with a bearer token. Errors become UsageErrors
// that say what the API said, field by field for a 400, so `kiln` exits 2 with no stack trace.
import { UsageError } from '../errors.js';

export interface ProjectRef {
  id: string;
  name: string;
  namespace: string;
}

interface FieldError {
  path: string;
  message: string;
}

export class ApiClient {
  constructor(
    readonly url: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(method, path, body);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {}
    if (res.ok) return parsed as T;
    throw new UsageError(describeFailure(method, path, res.status, parsed));
  }

  /** A streaming GET (server-sent events): yields each event's parsed `data`. */
  async *events<T>(path: string, signal?: AbortSignal): AsyncGenerator<T> {
    const res = await this.fetch('GET', path, undefined, { accept: 'text/event-stream' }, signal, false);
    if (!res.ok || !res.body)
      throw new UsageError(describeFailure('GET', path, res.status, await res.text().catch(() => '')));
    let buf = '';
    for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (data) yield JSON.parse(data) as T;
      }
    }
  }

  /** A streamed plain-text GET (a log): yields the text as it arrives. */
  async *text(path: string): AsyncGenerator<string> {
    const res = await this.fetch('GET', path, undefined, { accept: 'text/plain' }, undefined, false);
    if (!res.ok || !res.body) {
      const body = await res.text().catch(() => '');
      let parsed: unknown = body;
      try {
        parsed = JSON.parse(body);
      } catch {}
      throw new UsageError(describeFailure('GET', path, res.status, parsed));
    }
    yield* res.body.pipeThrough(new TextDecoderStream());
  }

  /** The project an id or name refers to, among those the token may see; or the token's only one. */
  async project(idOrName: string | undefined, flag = '--project'): Promise<ProjectRef> {
    const visible = await this.request<ProjectRef[]>('GET', '/api/v1/projects');
    const names = visible.map((p) => p.name).join(', ') || 'none';
    if (idOrName === undefined) {
      if (visible.length === 1) return visible[0]!;
      throw new UsageError(
        `${flag}: the token can see ${visible.length} projects (${names}); name one with ${flag} <id-or-name>`,
      );
    }
    const found = visible.find((p) => p.id === idOrName || p.name === idOrName);
    if (!found)
      throw new UsageError(`${flag}: no project "${idOrName}" that this token may use (it sees: ${names})`);
    return found;
  }

  private async fetch(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
    timeout = true,
  ): Promise<Response> {
    try {
      return await fetch(this.url + path, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ?? (timeout ? AbortSignal.timeout(this.timeoutMs) : undefined),
      });
    } catch (err) {
      if ((err as Error).name === 'AbortError' && signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new UsageError(
        `cannot reach the Kiln API at ${this.url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      );
    }
  }
}

function describeFailure(method: string, path: string, status: number, body: unknown): string {
  const b = (typeof body === 'object' && body !== null ? body : {}) as {
    message?: unknown;
    errors?: FieldError[];
  };
  if (status === 400 && Array.isArray(b.errors) && b.errors.length > 0)
    return `the API refused it:\n${b.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`;
  const msg = typeof b.message === 'string' ? b.message : typeof body === 'string' ? body.slice(0, 300) : '';
  if (status === 401) return `the API refused the token (401${msg ? `: ${msg}` : ''}); run kiln login again`;
  if (status === 403) return `the token may not do this (403${msg ? `: ${msg}` : ''})`;
  if (status === 404) return msg || `not found: ${method} ${path}`;
  return `${method} ${path} answered ${status}${msg ? `: ${msg}` : ''}`;
}

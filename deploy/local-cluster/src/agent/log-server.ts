// The kubelet's log endpoint (GET /containerLogs/<ns>/<pod>/<container>), served over TLS to the
// apiserver, which calls it for `kubectl logs` and the pods/log subresource. Clients must present a
// certificate signed by the cluster CA, as with a real kubelet.
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface LogSource {
  /** the log file of the container's current run (or the previous one), if any */
  file(namespace: string, pod: string, container: string, previous: boolean): string | undefined;
  /** whether more output may still arrive (the container is running) */
  live(namespace: string, pod: string, container: string): boolean;
}

export interface LogServer {
  port: number;
  close(): Promise<void>;
}

function tail(text: string, lines: number): string {
  const parts = text.split('\n');
  const trailing = parts.at(-1) === '' ? parts.pop() : undefined;
  const kept = parts.slice(Math.max(0, parts.length - lines));
  return kept.join('\n') + (trailing !== undefined && kept.length > 0 ? '\n' : '');
}

export async function startLogServer(
  tls: { cert: Buffer; key: Buffer; ca: Buffer },
  source: LogSource,
): Promise<LogServer> {
  const server: Server = createServer({ ...tls, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://agent');
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`the node agent serves only /containerLogs\n`);
      return;
    }
    const [ns, pod, container] = m.slice(1).map(decodeURIComponent) as [string, string, string];
    const q = url.searchParams;
    const previous = q.get('previous') === 'true';
    const file = source.file(ns, pod, container, previous);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`no ${previous ? 'previous ' : ''}logs for container "${container}" in pod ${ns}/${pod}\n`);
      return;
    }
    const limitBytes = q.has('limitBytes') ? Number(q.get('limitBytes')) : Number.POSITIVE_INFINITY;
    let text = readFileSync(file, 'utf8');
    let offset = Buffer.byteLength(text);
    if (q.has('tailLines')) text = tail(text, Number(q.get('tailLines')));
    let sent = 0;
    const send = (chunk: string) => {
      const buf = Buffer.from(chunk);
      const room = limitBytes - sent;
      if (room <= 0) return false;
      res.write(buf.subarray(0, room));
      sent += Math.min(buf.length, room);
      return sent < limitBytes;
    };
    res.writeHead(200, { 'content-type': 'text/plain' });
    const more = send(text);
    if (!more || q.get('follow') !== 'true' || previous) {
      res.end();
      return;
    }
    // Follow: poll the file for growth until the container stops and everything is sent.
    const timer = setInterval(() => {
      const size = statSync(file).size;
      if (size > offset) {
        const fd = openSync(file, 'r');
        const buf = Buffer.alloc(size - offset);
        readSync(fd, buf, 0, buf.length, offset);
        closeSync(fd);
        offset = size;
        if (!send(buf.toString())) {
          clearInterval(timer);
          res.end();
          return;
        }
      }
      if (!source.live(ns, pod, container) && statSync(file).size === offset) {
        clearInterval(timer);
        res.end();
      }
    }, 200);
    req.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// /healthz (the process answers), /readyz (caches synced; a standby replica is ready too, so a rollout
// can proceed while it waits for the Lease) and /metrics for Prometheus.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Prometheus } from './prometheus.js';

export interface HealthState {
  ready(): boolean;
  leader(): boolean;
}

export async function startHealthServer(
  port: number,
  host: string,
  prometheus: Prometheus,
  state: HealthState,
): Promise<{ server: Server; port: number }> {
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (path === '/readyz') {
      const ready = state.ready();
      res
        .writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ready ? `ok leader=${state.leader()}` : 'caches not synced');
    } else if (path === '/metrics') {
      const body = await prometheus.registry.metrics();
      res.writeHead(200, { 'content-type': prometheus.registry.contentType }).end(body);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
